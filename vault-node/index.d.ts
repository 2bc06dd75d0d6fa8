// Type declarations of vault-node (hand-written; they describe index.js, the wrapper over the
// generated native loader). Checked by `npm run typecheck` against examples/node.

/**
 * Every stable error code (vault-core's `ErrorCode::ALL`); a code added later (a newer server)
 * arrives as a plain string.
 */
export type ErrorCode =
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'unauthorized'
  | 'forbidden'
  | 'guard_rejected'
  | 'already_executed'
  | 'proposal_mismatch'
  | 'rate_limited'
  | 'budget_exhausted'
  | 'wrong_key'
  | 'integrity'
  | 'payload_too_large'
  | 'method_not_allowed'
  | 'backend_unavailable'
  | 'unavailable'
  | 'internal'

/** The error every call rejects (`*Sync`: throws) with: `.code` is the stable code, `.message` is for people. */
export declare class VaultError extends Error {
  readonly name: 'VaultError'
  readonly code: ErrorCode | (string & {})
  /** For `invalid`: the input that was rejected; `undefined` otherwise. */
  readonly field?: string
  private constructor()
}

/** The codes of `ErrorCode`, as a frozen array. */
export declare const ERROR_CODES: readonly ErrorCode[]

/** A JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }
/** A JSON object (metadata, params, risk limits) as the vault returns it. */
export type JsonObject = { [key: string]: JsonValue }
/** A JSON object as a call accepts it (checked at run time). */
export type JsonObjectInput = Record<string, unknown>

/**
 * How `open` finds the root key: `{ encryptionKey }` (32 bytes as 64 hex digits or base64; any
 * other string is used as a passphrase), `{ passphrase }`, or neither: the dev key file
 * `<path>/root.key`, created on first open.
 */
export type OpenOptions = (
  | { encryptionKey: string; passphrase?: undefined }
  | { passphrase: string; encryptionKey?: undefined }
  | { encryptionKey?: undefined; passphrase?: undefined }
) & {
  /**
   * A `vault_sk_...` token of this vault: every call is then checked against its rules exactly
   * as the server would (`forbidden`; `unauthorized` here or on any later call once it is
   * revoked or expired). Omitted: the process is trusted, everything is allowed.
   */
  token?: string
}

/** How `connect` reaches a `vault-http` server. */
export interface ConnectOptions {
  /** Service token (`VVAULT_SERVICE_TOKEN`), sent as `Authorization: Bearer <token>`. */
  token?: string
  /** File keeping last-known-good configs across restarts, encrypted (needs `token`). */
  cacheFile?: string
  /** Timeout of each request in milliseconds (default 10000). */
  timeoutMs?: number
  /**
   * Age in milliseconds after which a cached config is no longer served (default 24 h);
   * `Infinity`: no limit. A stale config must never turn a strategy on.
   */
  cacheMaxAgeMs?: number
  /**
   * PEM file of CA certificates trusted for `https://` besides the system's roots (a private
   * CA or a self-signed server certificate). Unreadable or not PEM: rejects with code
   * `invalid` (field `ca_file`); a certificate not trusted: code `unavailable` on the first call.
   */
  caFile?: string
  /**
   * Proxy URL (`http://host:port` or `https://host:port`) every request goes through. Without
   * it no proxy is used: `HTTP_PROXY`, `HTTPS_PROXY` and `ALL_PROXY` are ignored.
   */
  proxy?: string
}

/**
 * Opens (creating if needed) the embedded vault in directory `path`, or in the PostgreSQL
 * database `path` names when it is a `postgres://` URL (shared by every process opening it; the
 * key is then required).
 */
export declare function open(path: string, options?: OpenOptions): Promise<Vault>

/**
 * A client of the vault server at `url` (`http://host:port` or `https://host:port`); no request
 * is made yet.
 */
export declare function connect(url: string, options?: ConnectOptions): Promise<Vault>

/** A vault handle, embedded or remote: the same API either way. */
export declare class Vault {
  private constructor()
  /** Encrypted, versioned secrets of external services. */
  readonly credentials: Credentials
  /** Versioned strategy configs with compare-and-set. */
  readonly configs: Configs
  /** AI personas: capsules, identity files and transcripts. */
  readonly constructs: Constructs
  /** Tokens with scoped policies: create, list, revoke, and the caller's own. */
  readonly tokens: Tokens
  /** Scheduler jobs: due jobs handed to one instance at a time under a lease. */
  readonly jobs: Jobs
  /** Trading guards: policies, decide-and-claim, executions, trading states, overrides and the LLM-call budget. */
  readonly guards: Guards
  /** The audit log: query and verify (needs `read` on `audit`). */
  readonly audit: Audit
  /** `"embedded"` or `"remote"`. */
  readonly mode: 'embedded' | 'remote'
  /** The dev key file used when `open` was given no key, else `null`. */
  readonly devKeyFile: string | null
  /** Whether `close()` was called. */
  readonly closed: boolean
  /** Health of the vault (remote: of the server; `unavailable` when unreachable). */
  health(): Promise<Health>
  /**
   * Closes the vault; later calls reject with `invalid`, closing twice does nothing. Embedded:
   * commits the audit entries still queued and releases the data directory (once calls in
   * flight finish) before it returns, so the directory can be opened again at once; blocks the
   * event loop for that commit. Throws a `VaultError` when the entries cannot be committed (the
   * vault is closed all the same).
   */
  close(): void
}

/** Options of `credentials.put`. */
export interface CredentialPutOptions {
  /** The service the credential belongs to. */
  service: string
  /** Free-form, non-secret metadata; omitted = keep the previous version's. */
  metadata?: JsonObjectInput
  /** Compare-and-set: apply only if the current version is this (0 = must not exist yet). */
  expectedVersion?: number
  /** Versions to keep, 1 to 100 (default 10); omitted = keep the previous setting. */
  maxVersions?: number
  /** Rotation period (`'12h'`, `'7d'`, `'30d'`; 1h to 3650d); omitted = keep the previous. */
  rotateEvery?: string
}

/** Options of `credentials.get` and `credentials.delete`. */
export interface CredentialLookupOptions {
  /** The service; omitted = the key must exist under exactly one service (else `conflict`). */
  service?: string
}

/** Options of `credentials.get`: a service and, to read an older kept version, its number. */
export interface CredentialGetOptions extends CredentialLookupOptions {
  /** The kept version to read (1 or more); omitted = the current one. */
  version?: number
}

/** Options naming the service of a lifecycle operation (required). */
export interface CredentialServiceOptions {
  service: string
}

/** Options of `credentials.versions`. */
export interface CredentialVersionsOptions extends CredentialServiceOptions {
  /** Page size (default 100, at most 1000). */
  limit?: number
  /** Versions older than this one (a previous page's `next`). */
  after?: number
}

/** Characters of a generated value. */
export type Charset = 'alphanumeric' | 'hex' | 'base64url' | 'ascii_printable'

/** Options of `credentials.rotate`. */
export interface CredentialRotateOptions extends CredentialServiceOptions {
  /** Number of characters, 8 to 4096 (default 32). */
  length?: number
  /** Default `'alphanumeric'`. */
  charset?: Charset
}

/** Options of `credentials.setSettings`; an omitted setting is left as it is. */
export interface CredentialSettingsOptions extends CredentialServiceOptions {
  /** Versions to keep, 1 to 100; lowering it erases the oldest versions at once. */
  maxVersions?: number
  /** Rotation period (`'12h'`, `'7d'`, `'30d'`; 1h to 3650d), or `'off'` to clear it. */
  rotateEvery?: string
}

/** One kept version of a credential, without its value. */
export interface VersionInfo {
  version: number
  /** RFC 3339 UTC; absent only for a version written before times were recorded, since destroyed. */
  createdAt?: string
  state: 'active' | 'deleted' | 'destroyed'
  /** When it was soft-deleted or destroyed (RFC 3339 UTC). */
  deletedAt?: string
}

/** One page of the kept versions of a credential, newest first. */
export interface CredentialVersions {
  service: string
  key: string
  currentVersion: number
  oldestVersion: number
  maxVersions: number
  versions: VersionInfo[]
  /** When older versions follow: the `after` of the next page. */
  next?: number
}

/** `v.credentials`. */
export declare class Credentials {
  private constructor()
  /** Creates credential `key` of `options.service` or adds a version. */
  put(key: string, value: string, options: CredentialPutOptions): Promise<CredentialWritten>
  /**
   * The current version of credential `key`, or its kept version `options.version`, with its
   * value; `not_found` when that version is soft-deleted or destroyed.
   */
  get(key: string, options?: CredentialGetOptions): Promise<Credential>
  /**
   * `get` on the calling thread: returns the credential or throws a `VaultError`. Embedded mode
   * only (remote: throws `invalid`). Much faster than an awaited `get` (no thread hand-off);
   * blocks the event loop for the read (a few µs).
   */
  getSync(key: string, options?: CredentialLookupOptions): Credential
  /**
   * One page of the credentials of `service` without their values, ordered by key (values are
   * never decrypted to list them).
   */
  list(service: string, options?: ListOptions): Promise<Page<CredentialInfo>>
  /** Deletes credential `key` with all its versions; resolves to what was deleted. */
  delete(key: string, options?: CredentialLookupOptions): Promise<CredentialDeleted>
  /** The kept versions of credential `key`, newest first, never values. */
  versions(key: string, options: CredentialVersionsOptions): Promise<CredentialVersions>
  /** Soft-deletes a kept version: no longer served until undeleted. Idempotent. */
  deleteVersion(key: string, version: number, options: CredentialServiceOptions): Promise<VersionInfo>
  /** Undoes a soft delete; `not_found` for a destroyed version. */
  undeleteVersion(key: string, version: number, options: CredentialServiceOptions): Promise<VersionInfo>
  /** Erases a kept version's value from the store for good. Idempotent. */
  destroyVersion(key: string, version: number, options: CredentialServiceOptions): Promise<VersionInfo>
  /** A new version with a generated value; resolves to the outcome only (read it with `get`). */
  rotate(key: string, options: CredentialRotateOptions): Promise<CredentialWritten>
  /** Changes `maxVersions` and `rotateEvery` of an existing credential; resolves to its info. */
  setSettings(key: string, options: CredentialSettingsOptions): Promise<CredentialInfo>
  /** One page of the credentials of `service` overdue for rotation (`now - updatedAt >= rotateEvery`). */
  due(service: string, options?: ListOptions): Promise<Page<CredentialInfo>>
}

/**
 * A credential with its value. `value` is a getter over a private field: `util.inspect`,
 * `console.log` and `JSON.stringify` show `[REDACTED]`; spreading the record drops it. Once
 * read, the value is an ordinary JS string that cannot be wiped from the heap.
 */
export declare class Credential {
  private constructor()
  readonly key: string
  readonly service: string
  /** The secret value. */
  readonly value: string
  readonly metadata: JsonObject
  readonly version: number
  /** RFC 3339 UTC. */
  readonly createdAt: string
  /** RFC 3339 UTC. */
  readonly updatedAt: string
  /** The record with `value: "[REDACTED]"`. */
  toJSON(): CredentialFields & { value: '[REDACTED]' }
}

/** What a credential and its listing share. */
export interface CredentialFields {
  key: string
  service: string
  metadata: JsonObject
  version: number
  /** RFC 3339 UTC. */
  createdAt: string
  /** RFC 3339 UTC. */
  updatedAt: string
}

/** A credential without its value, as `credentials.list` returns it, with its lifecycle. */
export interface CredentialInfo extends CredentialFields {
  /** The oldest version kept. */
  oldestVersion: number
  /** How many versions are kept. */
  maxVersions: number
  /** State of the current version (a deleted or destroyed one is not served). */
  state: 'active' | 'deleted' | 'destroyed'
  /** Rotation period (`'7d'`, `'12h'`, ...), when set. */
  rotateEvery?: string
  /** When rotation is due (RFC 3339 UTC), when `rotateEvery` is set. */
  dueAt?: string
  /** Whether rotation is overdue: `now - updatedAt >= rotateEvery`. */
  due: boolean
}

/** The outcome of `credentials.put`. */
export interface CredentialWritten {
  key: string
  service: string
  action: 'created' | 'updated'
  version: number
}

/** The outcome of `credentials.delete`: the credential that was deleted. */
export interface CredentialDeleted {
  /** The service it was under (the one found when `service` was omitted). */
  service: string
  key: string
}

/** Options of `configs.put`; an omitted field keeps the previous version's value. */
export interface ConfigPutOptions {
  params?: JsonObjectInput
  symbols?: string[]
  riskLimits?: JsonObjectInput
  enabled?: boolean
  /** Compare-and-set: apply only if the latest version is this (0 = must not exist yet, or was deleted). */
  expectedVersion?: number
  /** Why: recorded with the version (at most 1024 bytes, no control characters but newline and tab). */
  comment?: string
}

/** Options of `configs.rollback`. */
export interface ConfigRollbackOptions {
  /** Recorded with the new version; default `rollback to version N`. */
  comment?: string
  /** Compare-and-set on the latest version, as for `put`. */
  expectedVersion?: number
}

/** Options of `configs.delete`. */
export interface ConfigDeleteOptions {
  /** Compare-and-set on the latest version. */
  expectedVersion?: number
}

/** Options of `configs.watch` and `configs.watcher`. */
export interface ConfigWatchOptions {
  /** The revision to watch from (a get's, a list's or the last watch's `revision`); omitted = from now. */
  since?: number
  /** Seconds to wait at most per long-poll: 0 to 60, default 30. */
  timeout?: number
}

/** One config a watch saw change: its latest version now. */
export interface WatchedChange {
  strategyId: string
  version: number
  /** True when that version is a delete. */
  deleted: boolean
}

/** What one `configs.watch` saw. */
export interface ConfigWatch {
  service: string
  /** Pass as `since` to the next watch. */
  revision: number
  /** In the order of their last change; empty at the timeout. */
  changes: WatchedChange[]
}

/** The async iterator of `configs.watcher`: yields each non-empty `ConfigWatch`. */
export interface ConfigWatcher extends AsyncIterableIterator<ConfigWatch> {
  /** The revision the next step watches from (undefined until the first step returns, when `since` was omitted). */
  readonly revision: number | undefined
}

/** Who wrote a config version. */
export interface ChangedBy {
  /** A token's id, `root` or `embedded`. */
  id: string
  /** A token's name, `root` or `embedded`. */
  name: string
}

/** Options of `configs.get`. */
export interface ConfigGetOptions {
  /** A specific version; omitted = the latest. */
  version?: number
}

/** Options of `configs.history`. */
export interface ConfigHistoryOptions {
  /** Most versions to return: 1 to 1000, default 100. */
  limit?: number
  /** Return versions older than this one; omitted = from the latest. Pass a page's `next`. */
  after?: number
}

/** One change of `configs.diff`, at a JSON Pointer into the config's stored form. */
export interface ConfigChange {
  op: 'add' | 'remove' | 'replace'
  /** E.g. `/params/fast`, `/symbols/1`, `/risk_limits/max_daily_loss`, `/enabled`, `/deleted`. */
  path: string
  /** The value in version `from`; absent for `add`. */
  old?: unknown
  /** The value in version `to`; absent for `remove`. */
  new?: unknown
}

/** The outcome of `configs.diff`. */
export interface ConfigDiff {
  from: number
  to: number
  changes: ConfigChange[]
}

/** One page of `configs.history`. */
export interface ConfigHistory {
  /** Versions, newest first. */
  versions: StrategyConfig[]
  /** Present when older versions exist: pass it as `after` to read the next page. */
  next?: number
  /** The oldest version kept: history starts there (1 until older versions are pruned). */
  oldestVersion: number
}

/** Options of `credentials.list` and `configs.list`. */
export interface ListOptions {
  /** Most items to return: 1 to 1000, default 100. */
  limit?: number
  /** Return items whose names sort after this one; pass a page's `next`. */
  after?: string
}

/** A record a listing found but could not read (e.g. it failed its integrity check). */
export interface Unreadable {
  /** The service listed; absent in a listing of tokens or an audit query. */
  service?: string
  /** The credential key, strategy id or token id; in an audit query, the entry's position. */
  name: string
  /** The stable error code, e.g. `integrity`. */
  code: ErrorCode | (string & {})
  message: string
}

/**
 * One page of a listing: an array of the items that could be read, ordered by name, with two
 * non-enumerable properties.
 */
export type Page<T> = T[] & {
  /** Present when more items follow: pass it as `after` to read the next page. */
  readonly next?: string
  /** Items of this page that could not be read; they do not fail the listing. */
  readonly unreadable: Unreadable[]
  /** `configs.list` only: the service's configs revision, read before the configs (for `configs.watch`). */
  readonly revision?: number
}

/** The configs settings of a service. */
export interface ConfigSettings {
  /** Versions kept of each config (the latest included): 1 to 100000, default 1000. */
  maxVersions: number
}

/** `v.configs`. */
export declare class Configs {
  private constructor()
  /** Writes a new version of strategy config `strategyId` of `service`. */
  put(service: string, strategyId: string, options?: ConfigPutOptions): Promise<ConfigWritten>
  /** The latest version of a strategy config, or `options.version`. */
  get(service: string, strategyId: string, options?: ConfigGetOptions): Promise<StrategyConfig>
  /** `get` on the calling thread: returns the config or throws. Embedded only, like `credentials.getSync`. */
  getSync(service: string, strategyId: string, options?: ConfigGetOptions): StrategyConfig
  /** One page of the latest versions of the strategy configs of `service`, by strategy id. */
  list(service: string, options?: ListOptions): Promise<Page<StrategyConfig>>
  /** The configs settings of `service`. */
  settings(service: string): Promise<ConfigSettings>
  /** Sets how many versions of each config of `service` are kept; a put prunes older ones. */
  setSettings(service: string, settings: ConfigSettings): Promise<ConfigSettings>
  /** The versions of a strategy config, newest first, a page at a time (`not_found` if none). */
  history(service: string, strategyId: string, options?: ConfigHistoryOptions): Promise<ConfigHistory>
  /** A new version with the content of version `toVersion` (`invalid` for 0, `not_found` when not kept); a deleted config comes back (a delete's own version restores what it deleted). */
  rollback(
    service: string,
    strategyId: string,
    toVersion: number,
    options?: ConfigRollbackOptions,
  ): Promise<ConfigWritten>
  /** Deletes a config keeping its history (action `deleted`); it reads as `not_found` until a put or a rollback. */
  delete(service: string, strategyId: string, options?: ConfigDeleteOptions): Promise<ConfigWritten>
  /** Waits until the configs of `service` change after `since` (at most `timeout` seconds). */
  watch(service: string, options?: ConfigWatchOptions): Promise<ConfigWatch>
  /** An async iterator of the changes from `since`: `for await (const w of v.configs.watcher('fx'))`. */
  watcher(service: string, options?: ConfigWatchOptions): ConfigWatcher
  /** The changes from version `from` to version `to` (`invalid` for 0, `not_found` when not kept). */
  diff(service: string, strategyId: string, from: number, to: number): Promise<ConfigDiff>
}

/** One version of a strategy config. */
export interface StrategyConfig {
  service: string
  strategyId: string
  params: JsonObject
  symbols: string[]
  riskLimits: JsonObject
  enabled: boolean
  version: number
  /** RFC 3339 UTC. */
  createdAt: string
  /** RFC 3339 UTC. */
  updatedAt: string
  /** True only when a remote client served this from its last-known-good cache. */
  stale: boolean
  /** Who wrote this version; absent for versions written before it was recorded. */
  changedBy?: ChangedBy
  /** The comment given with this version. */
  comment?: string
  /** True for the version a delete wrote. */
  deleted: boolean
  /** The service's configs revision when this was read (for `configs.watch`). */
  revision: number
}

/** The outcome of `configs.put`, `rollback` and `delete`. */
export interface ConfigWritten {
  service: string
  strategyId: string
  action: 'created' | 'updated' | 'deleted'
  version: number
}

/** The vault's health report. */
export interface Health {
  status: 'ok' | 'degraded' | 'down'
  /** `status === "ok"`. */
  ok: boolean
  /** Component name to state, e.g. `store: "connected"`. */
  components: Record<string, string>
  message: string
  /** The vault-core version. */
  version: string
  /** RFC 3339 UTC. */
  timestamp: string
  /** Credentials overdue for rotation (any makes the status `"degraded"`). */
  overdueCredentials: number
}

/** A capability a rule grants; later families add their own (kept as plain strings). */
/** Options of the constructs' versioned writes. */
export interface ConstructWriteOptions {
  /** Compare-and-set: applies only if the latest version is this one (0 = must not exist yet). */
  expectedVersion?: number
}

/** Options of the constructs' reads of one version. */
export interface ConstructGetOptions {
  /** The version to read; the latest when absent. */
  version?: number
}

/** One version of a construct's capsule. */
export interface Capsule {
  constructId: string
  capsule: JsonObject
  version: number
  /** When version 1 was written (RFC 3339). */
  createdAt: string
  /** When this version was written (RFC 3339). */
  updatedAt: string
}

/** The outcome of `constructs.putCapsule`. */
export interface CapsuleWritten {
  constructId: string
  action: 'created' | 'updated'
  version: number
}

/** An identity file as listed: everything but the content. */
export interface ConstructFileInfo {
  constructId: string
  name: string
  version: number
  /** SHA-256 of the content, 64 lowercase hex digits. */
  sha256: string
  /** Size in bytes. */
  size: number
  createdAt: string
  updatedAt: string
}

/** One version of an identity file with its content. */
export interface ConstructFile extends ConstructFileInfo {
  content: Buffer
}

/** The outcome of `constructs.putFile`. */
export interface FileWritten {
  constructId: string
  name: string
  action: 'created' | 'updated'
  version: number
  sha256: string
  size: number
}

/** A transcript entry to append. */
export interface NewEntry {
  /** Who spoke: a name such as `user`, `assistant`, `system`. */
  role: string
  /** What was said (at most 64 KiB). */
  content: string
  /** When; the vault's clock when absent. */
  timestamp?: Date | string
}

/** The outcome of `constructs.append`. */
export interface EntryAppended {
  constructId: string
  /** The entry's sequence number: 1, 2, 3, ... in append order. */
  seq: number
  timestamp: string
}

/** One transcript entry. */
export interface TranscriptEntry {
  seq: number
  role: string
  content: string
  timestamp: string
}

/** Options of `constructs.transcript`. */
export interface TranscriptOptions {
  /** Most entries to return: 1 to 1000, default 100. */
  limit?: number
  /** Continue after this sequence number (a page's `next`). */
  after?: number
  /** Newest first (the default) or oldest first. */
  order?: 'newest' | 'oldest'
}

/** One page of a transcript. */
export interface TranscriptPage {
  /** The entries, in the order asked for. */
  entries: TranscriptEntry[]
  /** Present when more follow in that order: pass it as `after`. */
  next?: number
  /** How many entries the transcript has. */
  total: number
}

/** A construct as listed: its id and counts, never content. */
export interface ConstructSummary {
  constructId: string
  /** The capsule's latest version (0: none). */
  capsuleVersion: number
  fileCount: number
  transcriptCount: number
  createdAt: string
}

/** A construct as one document (`constructs.export`), the input of `constructs.import`. */
export interface ConstructExport {
  format: 'vault.construct.v1'
  construct_id: string
  exported_at: string
  capsule: { document: JsonObject; version: number } | null
  files: { name: string; version: number; sha256: string; size: number; content_base64: string }[]
  transcript: { seq: number; role: string; content: string; timestamp: string }[]
}

/** The outcome of `constructs.import`. */
export interface ImportReport {
  constructId: string
  capsuleVersion: number
  files: number
  transcriptEntries: number
}

/** `v.constructs`: the identity vault of AI personas. */
export declare class Constructs {
  private constructor()
  /** Writes a new capsule version (a plain object, at most 512 KiB of JSON). */
  putCapsule(constructId: string, capsule: JsonObjectInput, options?: ConstructWriteOptions): Promise<CapsuleWritten>
  /** The capsule: the latest version or `options.version` (`not_found` when missing). */
  getCapsule(constructId: string, options?: ConstructGetOptions): Promise<Capsule>
  /** Writes a new version of an identity file (at most 10 MiB: `invalid` field `file` above). */
  putFile(
    constructId: string,
    name: string,
    content: Uint8Array,
    options?: ConstructWriteOptions,
  ): Promise<FileWritten>
  /** An identity file with its content: the latest version or `options.version`. */
  getFile(constructId: string, name: string, options?: ConstructGetOptions): Promise<ConstructFile>
  /** Deletes an identity file, every version (`not_found` when missing). */
  deleteFile(constructId: string, name: string): Promise<void>
  /** One page of the construct's files (no content), by name. */
  listFiles(constructId: string, options?: ListOptions): Promise<Page<ConstructFileInfo>>
  /** Appends a transcript entry; resolves to its sequence number. */
  append(constructId: string, entry: NewEntry): Promise<EntryAppended>
  /** One page of the transcript (`not_found` when the construct has none). */
  transcript(constructId: string, options?: TranscriptOptions): Promise<TranscriptPage>
  /** One page of constructs (ids and counts), by id. */
  list(options?: ListOptions): Promise<Page<ConstructSummary>>
  /** The whole construct as one document (at most 32 MiB). */
  export(constructId: string): Promise<ConstructExport>
  /** Imports an `export` document under its id, all or nothing (`conflict` when it exists). */
  import(document: ConstructExport): Promise<ImportReport>
}

export type Capability = 'read' | 'write' | 'delete' | 'list' | 'admin' | 'propose' | 'execute' | 'override' | 'invoke'

/**
 * One rule of a token: the capabilities it grants on the resource paths its glob matches
 * (`credentials/<service>/<key>`, `configs/<service>/<strategyId>`, `tokens/<id>`; `*` within a
 * segment, `**` across segments). A token is denied whatever no rule allows.
 */
export interface Rule {
  path: string
  capabilities: (Capability | (string & {}))[]
}

/** Options of `tokens.create`: at most one of `ttl` and `ttlMs`; neither: until revoked. */
export type TokenCreateOptions =
  | {
      /** How long it lives: a duration such as `'30d'`, `'12h'` or `'1h 30m'`. */
      ttl?: string
      ttlMs?: undefined
    }
  | {
      ttl?: undefined
      /** How long it lives, in milliseconds. */
      ttlMs?: number
    }

/** Options of `tokens.list`. */
export interface TokenListOptions {
  /** Most tokens to return: 1 to 1000, default 100. */
  limit?: number
  /** Return tokens whose ids sort after this one; pass a page's `next`. */
  after?: string
}

/**
 * A guard policy document (docs/guards.md), in and out in its documented snake-case form;
 * decimals are strings. Omitted fields take their defaults (no `allowlist`: deny everything).
 */
export interface GuardPolicy {
  allowlist?: string[]
  max_position_notional?: { default?: string; per_instrument?: Record<string, string> }
  min_confidence?: number
  cooldown_s?: number
  anti_flip_s?: number
  proposal_ttl_s?: number
  max_trades_per_day?: number
  max_daily_loss?: string
  llm_calls?: { hourly?: number; daily?: number; window?: 'calendar' | 'rolling' }
  max_overrides_per_day?: number
  scope?: 'asset' | 'instrument'
}

/** What a policy write made. */
export interface PolicyWritten {
  readonly account: string
  readonly version: number
  /** `sha256:<hex>` of the policy's canonical JSON. */
  readonly policyHash: string
}

/** A stored policy version (every field with its default filled in). */
export interface PolicyRecord {
  readonly account: string
  readonly version: number
  readonly policy: Required<Omit<GuardPolicy, 'max_trades_per_day' | 'max_daily_loss'>> & GuardPolicy
  readonly policyHash: string
  readonly updatedAt: string
  readonly changedBy: ChangedBy
  readonly comment: string | null
}

/**
 * One guard that denied a proposal: its stable `rule` code and the numbers behind it, in the
 * documented snake-case form (`{ rule: 'COOLDOWN_ACTIVE', remaining_s: 1234, last_execution_id }`).
 */
export interface Violation {
  readonly rule:
    | 'RISK_EXIT_NOT_REDUCING'
    | 'TRADING_HALTED'
    | 'TRADING_STATE_REDUCING'
    | 'PROPOSAL_EXPIRED'
    | 'NOT_ALLOWLISTED'
    | 'CONFIDENCE_BELOW_MINIMUM'
    | 'POSITION_LIMIT_EXCEEDED'
    | 'COOLDOWN_ACTIVE'
    | 'ANTI_FLIP_ACTIVE'
    | 'MAX_TRADES_PER_DAY'
  readonly [detail: string]: unknown
}

export type ExecutionState =
  | 'claimed'
  | 'submitted'
  | 'filled'
  | 'partially_filled'
  | 'rejected'
  | 'cancelled'
  | 'failed_before_submit'
  | 'unknown'

/** An execution: a claimed proposal and where it is. Decimals are strings. */
export interface Execution {
  /** `ex_` + 24 hex: use it as the venue's client order id. */
  readonly executionId: string
  readonly account: string
  readonly proposalId: string
  /** Normalized (`EUR/USD`). */
  readonly instrument: string
  readonly asset: string
  readonly side: 'buy' | 'sell'
  readonly notional: string
  readonly confidence: number
  readonly origin: 'discretionary' | 'risk_exit'
  readonly state: ExecutionState
  readonly policyHash: string
  readonly policyVersion: number
  readonly decidedAt: string
  readonly updatedAt: string
  readonly decidedBy: ChangedBy
  /** Guards an override lifted for it. */
  readonly overrides: { readonly overridden: Violation; readonly by: ChangedBy; readonly reason: string }[]
  readonly filledNotional: string | null
  readonly realizedPnl: string | null
  readonly attempt: number
}

/** A proposal to decide. */
export interface Proposal {
  /** One execution per id, ever (1 to 128 of `A-Z a-z 0-9 _ - . :`). */
  proposalId: string
  instrument: string
  side: 'buy' | 'sell'
  /** A decimal string (money is never a JS number). */
  notional: string
  /** In [0, 1]. */
  confidence: number
  /** Default `'discretionary'`; `'risk_exit'` needs the `override` capability. */
  origin?: 'discretionary' | 'risk_exit'
  /** Default: now + the policy's `proposal_ttl_s`. */
  expiresAt?: Date | string
}

/** A stored proposal (`guards.propose`). */
export interface ProposalRecord {
  readonly account: string
  readonly proposalId: string
  readonly instrument: string
  readonly side: 'buy' | 'sell'
  readonly notional: string
  readonly confidence: number
  readonly origin: 'discretionary' | 'risk_exit'
  readonly state: 'pending' | 'decided' | 'expired'
  readonly createdAt: string
  readonly expiresAt: string
  readonly proposedBy: ChangedBy
}

/** The answer of `guards.decide`: a denial resolves too (`outcome: 'denied'`). */
export interface Decision {
  readonly outcome: 'allowed' | 'denied' | 'already_executed'
  /** Whether this call allowed (and claimed) the proposal. */
  readonly allowed: boolean
  /** The execution claimed (allowed) or claimed before (already executed). */
  readonly execution: Execution | null
  /** Every guard that denied it, in evaluation order (empty unless denied). */
  readonly violations: Violation[]
  readonly policyHash: string
}

/** One decision as the log keeps it. */
export interface DecisionRecord {
  readonly proposalId: string
  readonly outcome: 'allowed' | 'denied'
  readonly executionId: string | null
  readonly instrument: string
  readonly side: 'buy' | 'sell'
  readonly notional: string
  readonly violations: Violation[]
  readonly policyHash: string
  readonly decidedAt: string
  readonly decidedBy: ChangedBy
}

export type TradingState = 'ACTIVE' | 'REDUCING' | 'HALTED'

/** An account's (or the global) trading state. */
export interface StateRecord {
  readonly account: string
  readonly state: TradingState
  readonly reason: string | null
  /** `manual`, or the rule that tripped it (`daily_loss`). */
  readonly trigger: string
  readonly changedAt: string | null
  readonly changedBy: ChangedBy | null
  readonly policyHash: string | null
}

/** An override for one proposal (single use). */
export interface OverrideRecord {
  readonly account: string
  readonly proposalId: string
  /** `COOLDOWN_ACTIVE` and/or `ANTI_FLIP_ACTIVE`. */
  readonly rules: string[]
  readonly reason: string
  readonly by: ChangedBy
  readonly createdAt: string
  /** The hash of the policy in force when it was granted. */
  readonly policyHash: string
  /** The execution that used it. */
  readonly usedBy: string | null
}

/** One LLM-call budget window. */
export interface BudgetWindow {
  readonly window: 'hourly' | 'daily'
  readonly limit: number
  /** Calls admitted in the window (this one included, when admitted). */
  readonly used: number
  readonly remaining: number
  /** When the window frees a call. */
  readonly resetsAt: string
}

/** The answer of `guards.admitLlmCall`: at the cap `admitted` is false (a resolution). */
export interface BudgetAdmission {
  readonly admitted: boolean
  readonly callId: string | null
  /** The window that refused the call. */
  readonly exhausted: 'hourly' | 'daily' | null
  readonly windows: BudgetWindow[]
}

/** The changes between two policy versions (`{ op, path, old?, new? }` each). */
export interface PolicyDiff {
  readonly from: number
  readonly to: number
  readonly changes: ConfigChange[]
}

/**
 * Trading guards per account (docs/guards.md). Decimals cross as strings; records have camelCase
 * keys, while a policy, a diff's changes and a violation keep their documented snake-case form.
 */
export declare class Guards {
  private constructor()
  /** Writes a new version of `account`'s policy. Needs `admin`. */
  putPolicy(
    account: string,
    policy: GuardPolicy,
    options?: { comment?: string; expectedVersion?: number },
  ): Promise<PolicyWritten>
  /** The latest version, or `version`; `not_found` when none is set. */
  getPolicy(account: string, options?: { version?: number }): Promise<PolicyRecord>
  rollbackPolicy(account: string, toVersion: number, options?: { comment?: string }): Promise<PolicyWritten>
  diffPolicy(account: string, from: number, to: number): Promise<PolicyDiff>
  /** Every guard, and the claim when all pass; `proposal_mismatch` for a reused id with other trade fields. */
  decide(account: string, proposal: Proposal): Promise<Decision>
  /** Reports a change of an execution; `conflict` for a move the states forbid. */
  updateExecution(
    account: string,
    executionId: string,
    state: ExecutionState,
    options?: { fill?: string; realizedPnl?: string },
  ): Promise<Execution>
  getExecution(account: string, executionId: string): Promise<Execution>
  executions(account: string, options?: ListOptions): Promise<Page<Execution>>
  /** Newest first. */
  decisions(account: string, options?: ListOptions): Promise<Page<DecisionRecord>>
  /** `'global'`: the global state. */
  getState(account: string): Promise<StateRecord>
  /** Latched: only this returns to `ACTIVE`. Needs `admin`. */
  setState(account: string, state: TradingState, reason: string): Promise<StateRecord>
  /** `rules`: `'cooldown'`, `'anti_flip'` or their codes; `reason` at least 10 characters. Needs `override`. */
  createOverride(
    account: string,
    proposalId: string,
    rules: ('cooldown' | 'anti_flip' | 'COOLDOWN_ACTIVE' | 'ANTI_FLIP_ACTIVE')[],
    reason: string,
  ): Promise<OverrideRecord>
  /** Stores a proposal to be decided later; `proposal_mismatch` for a reused id with other trade fields. Needs `propose`. */
  propose(account: string, proposal: Proposal): Promise<ProposalRecord>
  proposals(account: string, options?: ListOptions): Promise<Page<ProposalRecord>>
  /** Marks the pending proposals past their `expiresAt` as `expired`; resolves to how many. */
  expireProposals(account: string): Promise<number>
  admitLlmCall(account: string, options?: { model?: string }): Promise<BudgetAdmission>
  llmBudget(account: string): Promise<BudgetWindow[]>
}

/** `v.tokens`. Creating, listing and revoking need `admin` on `tokens/...`. */
export declare class Tokens {
  private constructor()
  /**
   * Creates a token allowed what `rules` say. Resolves to the token, shown this once. A token
   * creates only tokens within its own rules (`forbidden` naming the first rule that is not),
   * expiring no later than itself.
   */
  create(name: string, rules: Rule[], options?: TokenCreateOptions): Promise<TokenCreated>
  /** One page of the tokens the caller may manage, ordered by id (never a token or its hash). */
  list(options?: TokenListOptions): Promise<Page<TokenInfo>>
  /** Revokes token `id` (`tok_...`): refused from its next call, on every surface. */
  revoke(id: string): Promise<TokenRevoked>
  /**
   * The caller's own token, never the token itself (`embedded` for an embedded vault opened
   * without `token`, `root` for the server's service token).
   */
  self(): Promise<TokenInfo>
}

/** A scheduler job; times are RFC 3339 UTC strings. */
export interface Job {
  readonly account: string
  readonly jobId: string
  readonly state: 'pending' | 'leased' | 'done' | 'dead'
  /** When it is next due. */
  readonly runAt: string
  /** Claims it gets before it is `dead`. */
  readonly maxAttempts: number
  /** Claims made since it was created (or last rescheduled after a success). */
  readonly attempt: number
  /** The token of its latest claim (0 before the first). */
  readonly fencingToken: number
  /** The instance holding (or that last held) the lease. */
  readonly owner: string | null
  /** When the lease ends, while leased. */
  readonly leaseExpiresAt: string | null
  readonly lastOutcome: 'done' | 'failed' | null
  readonly createdAt: string
  readonly updatedAt: string
}

/** Options of `jobs.create`. */
export interface JobCreateOptions {
  /** When it is first due (default now). */
  runAt?: Date | string
  /** Claims before it is `dead` (1 to 100, default 3). */
  maxAttempts?: number
}

/** Options of `jobs.claimDue`. */
export interface JobClaimOptions {
  /** Most jobs to hand out (1 to 100, default 10). */
  limit?: number
  /** Lease length in seconds (1 to 3600, default 60). */
  ttl?: number
}

/** Options of `jobs.renew`. */
export interface JobRenewOptions {
  /** New lease length in seconds from now (1 to 3600, default 60). */
  ttl?: number
}

/** Options of `jobs.release`. */
export interface JobReleaseOptions {
  /** When to run the job again. */
  rescheduleAt?: Date | string
}

/** Options of `jobs.list`. */
export interface JobListOptions {
  limit?: number
  after?: string
}

/**
 * Scheduler jobs: each due job goes to exactly one instance at a time, under a lease and a
 * fencing token raised by every claim; a stale owner's renew or release is `conflict`. Needs
 * `execute` on `guards/<account>/jobs/<jobId>` (`read` for `get` and `list`).
 */
export declare class Jobs {
  private constructor()
  /** Create-if-absent: `created: false` when it existed with the same settings; other settings are `conflict`. */
  create(account: string, jobId: string, options?: JobCreateOptions): Promise<{ job: Job; created: boolean }>
  /** Hands the due jobs to `instance` under a lease, each to exactly one claimer. */
  claimDue(account: string, instance: string, options?: JobClaimOptions): Promise<Job[]>
  /** Extends the current lease; `conflict` naming the job and why when it is not current. */
  renew(account: string, jobId: string, instance: string, fencingToken: number, options?: JobRenewOptions): Promise<Job>
  /** Ends the run: `done` (or rescheduled), `failed` (rescheduled, or `dead` after the last attempt). */
  release(
    account: string,
    jobId: string,
    instance: string,
    fencingToken: number,
    outcome: 'done' | 'failed',
    options?: JobReleaseOptions,
  ): Promise<Job>
  /** Releases every expired lease of `account`. */
  sweep(account: string): Promise<{ released: number; dead: number }>
  get(account: string, jobId: string): Promise<Job>
  list(account: string, options?: JobListOptions): Promise<Page<Job>>
}

/**
 * A token just created. `token` is a getter over a private field: `util.inspect`,
 * `console.log` and `JSON.stringify` show `[REDACTED]`; spreading the record drops it.
 */
export declare class TokenCreated {
  private constructor()
  /** The token, `vault_sk_...`, shown this once (the vault keeps only its hash). */
  readonly token: string
  /** Public id, `tok_...`: what `revoke` takes. */
  readonly id: string
  readonly name: string
  readonly rules: Rule[]
  /** RFC 3339 UTC. */
  readonly createdAt: string | null
  /** RFC 3339 UTC; `null`: never. */
  readonly expiresAt: string | null
  /** The record with `token: "[REDACTED]"`. */
  toJSON(): Omit<TokenCreated, 'token' | 'toJSON'> & { token: '[REDACTED]' }
}

/** A token as listed or looked up: everything but the token and its hash. */
export interface TokenInfo {
  /** `tok_...`, or `root` / `embedded` for those callers. */
  id: string
  name: string
  rules: Rule[]
  /** RFC 3339 UTC; `null` for root and embedded. */
  createdAt: string | null
  /** RFC 3339 UTC; `null`: never. */
  expiresAt: string | null
  /** RFC 3339 UTC, to the minute; `null`: never used. */
  lastUsedAt: string | null
  revoked: boolean
}

/** The outcome of `tokens.revoke`. */
export interface TokenRevoked {
  id: string
}

/** Options of `audit.query`: filters (combined with AND) and the page. */
export interface AuditQueryOptions {
  /** Actor id or name, exactly: a token id or name, `root`, `embedded`, `anonymous`. */
  actor?: string
  /** Operation, exactly, e.g. `credentials.get`, `tokens.create`, `auth`. */
  op?: string
  /** Resource paths starting with this, e.g. `credentials/fxshinobi/`. */
  pathPrefix?: string
  /** Outcome, exactly: `ok` or an error code. */
  outcome?: 'ok' | ErrorCode | (string & {})
  /** Entries at or after this time: a `Date` or an RFC 3339 UTC string. */
  since?: Date | string
  /** Entries before this time: a `Date` or an RFC 3339 UTC string. */
  until?: Date | string
  /** Most entries to return: 1 to 1000, default 100. */
  limit?: number
  /** A previous page's `next`. */
  after?: string
}

/** One entry of the audit log: who did what to which resource. Never a value or a token. */
export interface AuditEntry {
  /** Position in its writer's chain, from 1. */
  seq: number
  /** The writer (one opened vault or server) whose chain this entry is in. */
  writer: string
  /** RFC 3339 UTC, to the millisecond. */
  time: string
  /** The HTTP request id; `null` for an embedded vault. */
  requestId: string | null
  /** `root`, `embedded`, a token id (`tok_...`), or `anonymous` (a failed authentication). */
  actorId: string
  /** The actor's name (a token's name; `root`, `embedded`; empty for `anonymous`). */
  actorName: string
  /** The operation, e.g. `credentials.get`. */
  op: string
  /** The resource path, e.g. `credentials/fxshinobi/OANDA_API_KEY`. */
  path: string
  /** `ok`, or the error code the operation answered. */
  outcome: 'ok' | ErrorCode | (string & {})
  /** The client's address (remote), or `embedded`. */
  client: string
  /** The hash of the writer's previous entry (64 zeros for its first). */
  prev: string
  /** This entry's hash (SHA-256, lowercase hex). */
  hash: string
}

/** The first entry `audit.verify` found bad. */
export interface AuditBadEntry {
  /** Its sequence number (for missing entries: the newest one missing). */
  seq: number
  writer: string
  problem: 'changed' | 'missing' | 'reordered'
  /** Why, in a sentence. */
  reason: string
}

/** What `audit.verify` found. */
export interface AuditVerifyReport {
  /** Whether every chain is whole. */
  valid: boolean
  /** Entries examined. */
  entries: number
  /** The first bad entry; `null` when valid. */
  firstBad: AuditBadEntry | null
}

/** `v.audit`. Reading the log needs `read` on `audit`; each query and check is itself audited. */
export declare class Audit {
  private constructor()
  /**
   * One page of the entries matching every filter given, newest first. A page examines at most
   * 10,000 entries: with a selective filter it can come back short, or empty, with a `next`.
   */
  query(options?: AuditQueryOptions): Promise<Page<AuditEntry>>
  /** Checks every writer's chain from its recorded head down to its first entry. */
  verify(): Promise<AuditVerifyReport>
}
