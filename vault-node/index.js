'use strict'
/**
 * vault-node: the vault for Node.js, embedded (`open`) or remote (`connect`), one API.
 *
 * This hand-written wrapper sits over the generated napi loader (`native.js`, built by
 * `npm run build`). It adds:
 * - the `credentials` / `configs` / `constructs` / `tokens` / `guards` / `jobs` / `audit` namespaces and camelCase
 *   option objects;
 * - `credentials.getSync` / `configs.getSync`: embedded-only reads on the calling thread (an
 *   awaited call's thread hand-offs cost far more than the read); they throw instead of reject;
 * - the JS-shape checks, and only those: types, integers, required and unknown options (an
 *   unknown option is an `invalid` error, not silently ignored). Every value rule (name
 *   syntax, sizes, limits, key options) is vault-core's, applied once in Rust; the native
 *   layer relies on these checks and does not repeat them;
 * - `VaultError`: every rejection is an `Error` whose `.code` is the vault's stable code
 *   (`not_found`, `conflict`, `invalid`, `unauthorized`, `wrong_key`, `unavailable`, ...),
 *   parsed from the `[vault:<code>] ` prefix the native layer puts on its messages; a code this
 *   package does not list (from a newer server) is kept as sent;
 * - `Credential`: the secret value sits in a private field behind a `value` getter, and
 *   `util.inspect` / `console.log` / `JSON.stringify` show `[REDACTED]` instead; `TokenCreated`
 *   does the same for a new token.
 *
 * A value read with `cred.value` is an ordinary JS string: the garbage collector frees it when it
 * likes and nothing can wipe it from the heap. Read it when you need it, do not keep copies.
 */

const path = require('node:path')
const util = require('node:util')
const native = loadNative()

/**
 * The napi loader: `./native.js` (the release build of `npm run build`, next to this file), or
 * the `native.js` in directory `VAULT_NODE_ADDON_DIR` when that is set: `npm run build:debug`
 * writes the debug build to `build/debug/`, which `npm test` and `scripts/test-node.sh` load this
 * way, so a test run never replaces or loads the release addon. A relative directory is taken
 * from the current directory. When the variable is set there is no fallback to the release build.
 */
function loadNative() {
  const dir = process.env.VAULT_NODE_ADDON_DIR
  if (!dir) return require('./native.js')
  const loader = path.resolve(dir, 'native.js')
  try {
    return require(loader)
  } catch (err) {
    const e = new Error(
      `vault-node: cannot load the addon from VAULT_NODE_ADDON_DIR=${dir} (${loader}): ${err.message}. ` +
        'Build it (`npm run build:debug` writes build/debug/) or unset the variable to load the release build.',
    )
    e.cause = err
    throw e
  }
}

const REDACTED = '[REDACTED]'
const NATIVE_PREFIX = /^\[vault:([^\]\s]+)(?: field=(\S+))?\] /
// napi argument-conversion statuses: the caller passed a value of the wrong type.
const NAPI_INPUT_STATUSES = new Set([
  'InvalidArg',
  'ObjectExpected',
  'StringExpected',
  'NameExpected',
  'FunctionExpected',
  'NumberExpected',
  'BooleanExpected',
  'ArrayExpected',
  'BigintExpected',
])

/** A vault error: `.code` is the stable machine code, `.message` is for people. */
class VaultError extends Error {
  constructor(code, message, field) {
    super(message)
    this.name = 'VaultError'
    this.code = code
    /** For `invalid`: the input that was rejected (as vault-core or this wrapper names it). */
    this.field = field
  }
}

function invalid(field, reason) {
  return new VaultError('invalid', `invalid ${field}: ${reason}`, field)
}

/** Turns whatever the native layer threw into a VaultError with a stable code. */
function translate(err) {
  if (err instanceof VaultError) return err
  const message = err && typeof err.message === 'string' ? err.message : 'unknown error'
  const m = NATIVE_PREFIX.exec(message)
  if (m) return new VaultError(m[1], message.slice(m[0].length), m[2])
  if (err && NAPI_INPUT_STATUSES.has(err.code)) {
    // napi's conversion messages may quote the offending value: never pass them on.
    return new VaultError('invalid', 'invalid argument: a value has the wrong type')
  }
  return new VaultError('internal', `internal error: ${message}`)
}

async function call(fn) {
  try {
    return await fn()
  } catch (err) {
    throw translate(err)
  }
}

/** `call` for the synchronous (embedded-only) methods: throws a VaultError. */
function callSync(fn) {
  try {
    return fn()
  } catch (err) {
    throw translate(err)
  }
}

// ---- argument checks (JS shape only; names and values are validated once, by vault-core) ----

function isPlainObject(v) {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** The options object `o` (undefined/null = none), rejecting keys not in `allowed`. */
function options(o, allowed, where) {
  if (o === undefined || o === null) return {}
  if (!isPlainObject(o)) throw invalid(where, 'must be an object')
  for (const k of Object.keys(o)) {
    if (!allowed.includes(k)) throw invalid(where, `unknown option '${k}' (known: ${allowed.join(', ')})`)
  }
  return o
}

function str(v, field) {
  if (typeof v !== 'string') throw invalid(field, 'must be a string')
  return v
}

function optStr(v, field) {
  return v === undefined || v === null ? undefined : str(v, field)
}

function optObject(v, field) {
  if (v === undefined || v === null) return undefined
  if (!isPlainObject(v)) throw invalid(field, 'must be a plain object')
  return v
}

/** A version, cursor or limit: a non-negative safe integer (the native layer relies on it). */
function optUint(v, field) {
  if (v === undefined || v === null) return undefined
  if (!Number.isSafeInteger(v) || v < 0) throw invalid(field, 'must be a non-negative integer')
  return v
}

/** The required `service` of an options object. */
function requiredService(o) {
  if (o.service === undefined || o.service === null) throw invalid('service', 'is required')
  return str(o.service, 'service')
}

function optBool(v, field) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'boolean') throw invalid(field, 'must be a boolean')
  return v
}

function optSymbols(v) {
  if (v === undefined || v === null) return undefined
  if (!Array.isArray(v) || !v.every((s) => typeof s === 'string')) {
    throw invalid('symbols', 'must be an array of strings')
  }
  return v
}

/**
 * A token's rules: an array of `{ path, capabilities }` plain objects, `path` a string and
 * `capabilities` an array of strings (names and globs are checked by vault-core).
 */
function rulesIn(rules) {
  if (!Array.isArray(rules)) throw invalid('rules', 'must be an array of { path, capabilities } objects')
  return rules.map((rule, i) => {
    const where = `rules[${i}]`
    if (!isPlainObject(rule)) throw invalid(where, 'must be a plain object { path, capabilities }')
    for (const k of Object.keys(rule)) {
      if (k !== 'path' && k !== 'capabilities') throw invalid(where, 'unknown key (known: path, capabilities)')
    }
    if (rule.path === undefined || rule.path === null) throw invalid(`${where}.path`, 'is required')
    const caps = rule.capabilities
    if (caps === undefined || caps === null) throw invalid(`${where}.capabilities`, 'is required')
    if (!Array.isArray(caps)) throw invalid(`${where}.capabilities`, 'must be an array of strings')
    caps.forEach((c, j) => str(c, `${where}.capabilities[${j}]`))
    return { path: str(rule.path, `${where}.path`), capabilities: [...caps] }
  })
}

/**
 * A `since` / `until` of an audit query: a valid `Date` (sent as its RFC 3339 string) or a
 * string (an RFC 3339 time, parsed by vault-core's rule).
 */
function optTime(v, field) {
  if (v === undefined || v === null) return undefined
  if (v instanceof Date) {
    if (Number.isNaN(v.getTime())) throw invalid(field, 'is an invalid Date')
    return v.toISOString()
  }
  if (typeof v !== 'string') throw invalid(field, 'must be a Date or an RFC 3339 string')
  return v
}

// ---- records ----

/**
 * A listing page as an array of its items, with `next` (the `after` of the next page, absent
 * on the last) and `unreadable` as non-enumerable properties, so the array still compares,
 * spreads and serializes as a plain array of items.
 */
function page(r) {
  const items = r.items
  Object.defineProperty(items, 'next', { value: r.next ?? undefined, enumerable: false })
  Object.defineProperty(items, 'unreadable', { value: r.unreadable, enumerable: false })
  if (r.revision !== undefined && r.revision !== null) {
    Object.defineProperty(items, 'revision', { value: r.revision, enumerable: false })
  }
  return items
}

function optSeconds(v, field) {
  if (v === undefined || v === null) return undefined
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
    throw invalid(field, 'must be a number of seconds, 0 or more')
  }
  return v
}

/** The wait of a watch given no `timeout`, in seconds. */
const WATCH_DEFAULT_TIMEOUT = 30

let watchIds = 0
/** A fresh id for a watcher's step, to cancel it by (wraps at 2^32, long after it ended). */
function nextWatchId() {
  watchIds = (watchIds + 1) >>> 0
  return watchIds
}

/**
 * A credential with its secret value. `cred.value` returns the string; printing, inspecting or
 * JSON-serializing the record shows `[REDACTED]`. Spreading (`{...cred}`) or `structuredClone`
 * drop the value.
 */
class Credential {
  #value

  constructor(r) {
    this.key = r.key
    this.service = r.service
    this.#value = r.value
    this.metadata = r.metadata
    this.version = r.version
    this.createdAt = r.createdAt
    this.updatedAt = r.updatedAt
  }

  /** The secret value (an ordinary JS string once read; it cannot be wiped from the heap). */
  get value() {
    return this.#value
  }

  /** The record with the value redacted (what `JSON.stringify` writes). */
  toJSON() {
    return {
      key: this.key,
      service: this.service,
      value: REDACTED,
      metadata: this.metadata,
      version: this.version,
      createdAt: this.createdAt,
      updatedAt: this.updatedAt,
    }
  }

  [util.inspect.custom](depth, opts, inspect) {
    if (depth < 0) return opts.stylize('[Credential]', 'special')
    const shown = inspect(this.toJSON(), { ...opts, depth: opts.depth === null ? null : opts.depth - 1 })
    return `Credential ${shown}`
  }
}

/** A token's info as the native layer returns it, with absent times as `null`. */
function tokenInfo(r) {
  return {
    id: r.id,
    name: r.name,
    rules: r.rules,
    createdAt: r.createdAt ?? null,
    expiresAt: r.expiresAt ?? null,
    lastUsedAt: r.lastUsedAt ?? null,
    revoked: r.revoked,
  }
}

/** An audit entry as the native layer returns it, with an absent request id as `null`. */
function auditEntry(r) {
  return {
    seq: r.seq,
    writer: r.writer,
    time: r.time,
    requestId: r.requestId ?? null,
    actorId: r.actorId,
    actorName: r.actorName,
    op: r.op,
    path: r.path,
    outcome: r.outcome,
    client: r.client,
    prev: r.prev,
    hash: r.hash,
  }
}

/** A verification report, with an absent first bad entry as `null`. */
function auditReport(r) {
  const b = r.firstBad
  return {
    valid: r.valid,
    entries: r.entries,
    firstBad: b ? { seq: b.seq, writer: b.writer, problem: b.problem, reason: b.reason } : null,
  }
}

/**
 * A token just created. `created.token` returns the token (shown this once: the vault keeps
 * only its hash); printing, inspecting or JSON-serializing the record shows `[REDACTED]`, and
 * spreading it or `structuredClone` drop it.
 */
class TokenCreated {
  #token

  constructor(r) {
    this.#token = r.token
    this.id = r.id
    this.name = r.name
    this.rules = r.rules
    this.createdAt = r.createdAt ?? null
    this.expiresAt = r.expiresAt ?? null
  }

  /** The token, `vault_sk_...` (an ordinary JS string once read; it cannot be wiped). */
  get token() {
    return this.#token
  }

  /** The record with the token redacted (what `JSON.stringify` writes). */
  toJSON() {
    return {
      token: REDACTED,
      id: this.id,
      name: this.name,
      rules: this.rules,
      createdAt: this.createdAt,
      expiresAt: this.expiresAt,
    }
  }

  [util.inspect.custom](depth, opts, inspect) {
    if (depth < 0) return opts.stylize('[TokenCreated]', 'special')
    const shown = inspect(this.toJSON(), { ...opts, depth: opts.depth === null ? null : opts.depth - 1 })
    return `TokenCreated ${shown}`
  }
}

// ---- namespaces ----

/** `v.credentials`: encrypted, versioned secrets of external services. */
class Credentials {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /**
   * Creates or updates credential `key`; `service` is required. `maxVersions` (1 to 100,
   * default 10) and `rotateEvery` (`'12h'`, `'7d'`, `'30d'`; 1h to 3650d) set the lifecycle;
   * absent keeps them.
   */
  put(key, value, opts) {
    return call(async () => {
      const o = options(opts, ['service', 'metadata', 'expectedVersion', 'maxVersions', 'rotateEvery'], 'options')
      return this.#native.putCredential(
        str(key, 'key'),
        str(value, 'value'),
        requiredService(o),
        optObject(o.metadata, 'metadata'),
        optUint(o.expectedVersion, 'expectedVersion'),
        optUint(o.maxVersions, 'max_versions'),
        optStr(o.rotateEvery, 'rotate_every'),
      )
    })
  }

  /**
   * The current version of credential `key` (of `service`, or of the one service that has
   * it), or its kept version `version`. `not_found` when that version (the current one
   * included) is soft-deleted or destroyed.
   */
  get(key, opts) {
    return call(async () => {
      const o = options(opts, ['service', 'version'], 'options')
      const version = optUint(o.version, 'version')
      const service = optStr(o.service, 'service')
      const r =
        version === undefined
          ? await this.#native.getCredential(str(key, 'key'), service)
          : await this.#native.getCredentialVersion(str(key, 'key'), service, version)
      return new Credential(r)
    })
  }

  /**
   * The kept versions of credential `key` of `service`, newest first, never values:
   * `{ service, key, currentVersion, oldestVersion, maxVersions, versions, next? }`, each
   * version `{ version, createdAt?, state, deletedAt? }`; paged by `limit` / `after`.
   */
  versions(key, opts) {
    return call(async () => {
      const o = options(opts, ['service', 'limit', 'after'], 'options')
      return this.#native.credentialVersions(
        str(key, 'key'),
        requiredService(o),
        optUint(o.limit, 'limit'),
        optUint(o.after, 'after'),
      )
    })
  }

  /** Soft-deletes kept version `version` (no longer served until undeleted). Idempotent. */
  deleteVersion(key, version, opts) {
    return this.#changeVersion(key, version, opts, 'delete')
  }

  /** Undoes a soft delete; `not_found` for a destroyed version. */
  undeleteVersion(key, version, opts) {
    return this.#changeVersion(key, version, opts, 'undelete')
  }

  /** Erases kept version `version`'s value from the store for good. Idempotent. */
  destroyVersion(key, version, opts) {
    return this.#changeVersion(key, version, opts, 'destroy')
  }

  #changeVersion(key, version, opts, op) {
    return call(async () => {
      const o = options(opts, ['service'], 'options')
      const n = optUint(version, 'version')
      if (n === undefined) throw invalid('version', 'is required')
      return this.#native.changeCredentialVersion(str(key, 'key'), requiredService(o), n, op)
    })
  }

  /**
   * A new version with a value the vault generates: `length` (8 to 4096, default 32)
   * characters of `charset` (`'alphanumeric'` default, `'hex'`, `'base64url'`,
   * `'ascii_printable'`); creates the credential when missing. Resolves to the outcome of a
   * put, never the value: read it with `get`.
   */
  rotate(key, opts) {
    return call(async () => {
      const o = options(opts, ['service', 'length', 'charset'], 'options')
      return this.#native.rotateCredential(
        str(key, 'key'),
        requiredService(o),
        optUint(o.length, 'length'),
        optStr(o.charset, 'charset'),
      )
    })
  }

  /**
   * Changes `maxVersions` (lowering it erases the oldest versions at once) and `rotateEvery`
   * (`'off'` clears it) of an existing credential; absent leaves a setting as it is. Resolves
   * to the credential's info, as `list` shows it.
   */
  setSettings(key, opts) {
    return call(async () => {
      const o = options(opts, ['service', 'maxVersions', 'rotateEvery'], 'options')
      return this.#native.setCredentialSettings(
        str(key, 'key'),
        requiredService(o),
        optUint(o.maxVersions, 'max_versions'),
        optStr(o.rotateEvery, 'rotate_every'),
      )
    })
  }

  /**
   * One page of the credentials of `service` overdue for rotation
   * (`now - updatedAt >= rotateEvery`), paged as `list` (a page may hold fewer than `limit`
   * while `next` says more follow).
   */
  due(service, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.dueCredentials(
        str(service, 'service'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page(r)
    })
  }

  /**
   * `get` run on the calling thread: returns the Credential or throws a VaultError. Embedded
   * only (remote: `invalid`); ~10x the throughput of an awaited `get`, as no thread hand-off.
   */
  getSync(key, opts) {
    return callSync(() => {
      const o = options(opts, ['service'], 'options')
      return new Credential(this.#native.getCredentialSync(str(key, 'key'), optStr(o.service, 'service')))
    })
  }

  /**
   * One page of the credentials of `service`, without values, ordered by key: at most `limit`
   * (default 100, at most 1000) whose keys sort after `after` (a previous page's `next`). An
   * array, with `next` (when more follow) and `unreadable` (credentials that could not be read,
   * reported instead of failing the listing) as non-enumerable properties.
   */
  list(service, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.listCredentials(
        str(service, 'service'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page(r)
    })
  }

  /** Deletes credential `key` with all its versions; resolves to `{ service, key }` deleted. */
  delete(key, opts) {
    return call(async () => {
      const o = options(opts, ['service'], 'options')
      return this.#native.deleteCredential(str(key, 'key'), optStr(o.service, 'service'))
    })
  }
}

/** `v.configs`: versioned strategy configs with compare-and-set. */
class Configs {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /** Writes a new version of strategy config `strategyId` of `service`. */
  put(service, strategyId, opts) {
    return call(async () => {
      const o = options(
        opts,
        ['params', 'symbols', 'riskLimits', 'enabled', 'expectedVersion', 'comment'],
        'options',
      )
      return this.#native.putConfig(str(service, 'service'), str(strategyId, 'strategyId'), {
        params: optObject(o.params, 'params'),
        symbols: optSymbols(o.symbols),
        riskLimits: optObject(o.riskLimits, 'riskLimits'),
        enabled: optBool(o.enabled, 'enabled'),
        expectedVersion: optUint(o.expectedVersion, 'expectedVersion'),
        comment: optStr(o.comment, 'comment'),
      })
    })
  }

  /** A strategy config: the latest version, or `{ version }`. */
  get(service, strategyId, opts) {
    return call(async () => {
      const o = options(opts, ['version'], 'options')
      return this.#native.getConfig(
        str(service, 'service'),
        str(strategyId, 'strategyId'),
        optUint(o.version, 'version'),
      )
    })
  }

  /** `get` run on the calling thread: returns the config or throws. Embedded only. */
  getSync(service, strategyId, opts) {
    return callSync(() => {
      const o = options(opts, ['version'], 'options')
      return this.#native.getConfigSync(
        str(service, 'service'),
        str(strategyId, 'strategyId'),
        optUint(o.version, 'version'),
      )
    })
  }

  /**
   * One page of the latest versions of the strategy configs of `service`, ordered by strategy
   * id: at most `limit` (default 100, at most 1000) whose ids sort after `after` (a previous
   * page's `next`). An array with non-enumerable `next` and `unreadable`, as `credentials.list`.
   */
  list(service, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.listConfigs(
        str(service, 'service'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page(r)
    })
  }

  /** The configs settings of `service`: `{ maxVersions }`. */
  settings(service) {
    return call(async () => this.#native.configSettings(str(service, 'service')))
  }

  /**
   * Sets the configs settings of `service`: `maxVersions` (1 to 100000, default 1000) versions
   * of each config are kept; a put prunes older ones. Resolves to the settings now in force.
   */
  setSettings(service, opts) {
    return call(async () => {
      const o = options(opts, ['maxVersions'], 'options')
      const maxVersions = optUint(o.maxVersions, 'maxVersions')
      if (maxVersions === undefined) throw invalid('maxVersions', 'is required')
      return this.#native.setConfigSettings(str(service, 'service'), maxVersions)
    })
  }

  /**
   * Writes a new version of strategy config `strategyId` with the content (params, symbols,
   * riskLimits, enabled) of its version `toVersion`; history is never rewritten (a deleted
   * config comes back). Options: `comment` (default `rollback to version N`),
   * `expectedVersion` (compare-and-set, as for `put`). Resolves as `put` does.
   */
  rollback(service, strategyId, toVersion, opts) {
    return call(async () => {
      const t = optUint(toVersion, 'to_version')
      if (t === undefined) throw invalid('to_version', 'is required')
      const o = options(opts, ['comment', 'expectedVersion'], 'options')
      return this.#native.rollbackConfig(
        str(service, 'service'),
        str(strategyId, 'strategyId'),
        t,
        optStr(o.comment, 'comment'),
        optUint(o.expectedVersion, 'expectedVersion'),
      )
    })
  }

  /**
   * Deletes strategy config `strategyId`, keeping its history: a new version marked
   * `deleted` (action `'deleted'`); it then reads as `not_found` and leaves listings until a
   * put or a rollback brings it back. `{ expectedVersion }`: compare-and-set.
   */
  delete(service, strategyId, opts) {
    return call(async () => {
      const o = options(opts, ['expectedVersion'], 'options')
      return this.#native.deleteConfig(
        str(service, 'service'),
        str(strategyId, 'strategyId'),
        optUint(o.expectedVersion, 'expectedVersion'),
      )
    })
  }

  /**
   * Waits until the configs of `service` change after revision `since` (a get's, a list's or
   * the last watch's `revision`; omitted: from now), at most `timeout` seconds (0 to 60,
   * default 30): `{ service, revision, changes: [{ strategyId, version, deleted }] }`, with no
   * changes and the same revision at the timeout. Remote: a long-poll to the server.
   */
  watch(service, opts) {
    return call(async () => {
      const o = options(opts, ['since', 'timeout'], 'options')
      return this.#native.watchConfigs(
        str(service, 'service'),
        optUint(o.since, 'since'),
        optSeconds(o.timeout, 'timeout') ?? WATCH_DEFAULT_TIMEOUT,
        undefined,
      )
    })
  }

  /**
   * An async iterator of the changes of the configs of `service` from revision `since`
   * (omitted: from now): `for await (const w of v.configs.watcher('fx')) reload(w)`. Each
   * step long-polls (`timeout` seconds each) until something changed and yields that watch;
   * `revision` is where the next step starts.
   */
  watcher(service, opts) {
    const o = options(opts, ['since', 'timeout'], 'options')
    const svc = str(service, 'service')
    const timeout = optSeconds(o.timeout, 'timeout') ?? WATCH_DEFAULT_TIMEOUT
    let since = optUint(o.since, 'since')
    let done = false
    let waiting = null
    const native = this.#native
    return {
      get revision() {
        return since
      },
      async next() {
        while (!done) {
          waiting = nextWatchId()
          const w = await call(async () => native.watchConfigs(svc, since, timeout, waiting))
          waiting = null
          if (done) break
          since = w.revision
          if (w.changes.length > 0) return { value: w, done: false }
        }
        return { value: undefined, done: true }
      },
      /** Ends the iteration; a step waiting now resolves `done` at once (its watch is dropped). */
      async return() {
        done = true
        if (waiting !== null) native.cancelWatch(waiting)
        return { value: undefined, done: true }
      },
      [Symbol.asyncIterator]() {
        return this
      },
    }
  }

  /**
   * The changes from version `from` to version `to` of strategy config `strategyId` (either
   * may be the newer): `{ from, to, changes }`, each change `{ op: 'add' | 'remove' |
   * 'replace', path, old?, new? }` at a JSON Pointer into the stored config: `/params/...`,
   * `/symbols/<i>`, `/risk_limits/...` (snake case, as stored and served over HTTP), `/enabled`.
   */
  diff(service, strategyId, from, to) {
    return call(async () => {
      const f = optUint(from, 'from')
      const t = optUint(to, 'to')
      if (f === undefined) throw invalid('from', 'is required')
      if (t === undefined) throw invalid('to', 'is required')
      return this.#native.configDiff(str(service, 'service'), str(strategyId, 'strategyId'), f, t)
    })
  }

  /**
   * The versions of strategy config `strategyId`, newest first: `{ versions, next? }`. At most
   * `limit` (default 100, at most 1000) versions older than version `after` (from the latest
   * when omitted); pass `next` as `after` to read the next page.
   */
  history(service, strategyId, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      return this.#native.configHistory(
        str(service, 'service'),
        str(strategyId, 'strategyId'),
        optUint(o.limit, 'limit'),
        optUint(o.after, 'after'),
      )
    })
  }
}

/**
 * `v.constructs`: the identity vault of AI personas. Per construct (an id, a name like the
 * others): a capsule (a versioned plain object, compare-and-set), identity files (`Buffer`s up
 * to 10 MiB, versioned, each version with its SHA-256 and size) and an append-only transcript
 * read in pages. Every value rule is vault-core's; this class checks JS shapes only.
 */
class Constructs {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /** Writes a new capsule version; `{ expectedVersion }` is compare-and-set (0: must not exist). */
  putCapsule(constructId, capsule, opts) {
    return call(async () => {
      const o = options(opts, ['expectedVersion'], 'options')
      const doc = optObject(capsule, 'capsule')
      if (doc === undefined) throw invalid('capsule', 'is required')
      return this.#native.putCapsule(
        str(constructId, 'constructId'),
        doc,
        optUint(o.expectedVersion, 'expectedVersion'),
      )
    })
  }

  /** The capsule: `{ constructId, capsule, version, createdAt, updatedAt }`; latest or `{ version }`. */
  getCapsule(constructId, opts) {
    return call(async () => {
      const o = options(opts, ['version'], 'options')
      return this.#native.getCapsule(str(constructId, 'constructId'), optUint(o.version, 'version'))
    })
  }

  /** Writes a new version of identity file `name` (a `Buffer` or `Uint8Array`, at most 10 MiB). */
  putFile(constructId, name, content, opts) {
    return call(async () => {
      const o = options(opts, ['expectedVersion'], 'options')
      if (!(content instanceof Uint8Array)) throw invalid('content', 'must be a Buffer or Uint8Array')
      const buf = Buffer.isBuffer(content)
        ? content
        : Buffer.from(content.buffer, content.byteOffset, content.byteLength)
      return this.#native.putConstructFile(
        str(constructId, 'constructId'),
        str(name, 'name'),
        buf,
        optUint(o.expectedVersion, 'expectedVersion'),
      )
    })
  }

  /** Identity file `name` with its `content` (a `Buffer`); latest or `{ version }`. */
  getFile(constructId, name, opts) {
    return call(async () => {
      const o = options(opts, ['version'], 'options')
      return this.#native.getConstructFile(
        str(constructId, 'constructId'),
        str(name, 'name'),
        optUint(o.version, 'version'),
      )
    })
  }

  /** Deletes identity file `name`, every version. */
  deleteFile(constructId, name) {
    return call(async () => {
      await this.#native.deleteConstructFile(str(constructId, 'constructId'), str(name, 'name'))
    })
  }

  /** One page of the construct's files (no content), as `credentials.list`. */
  listFiles(constructId, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.listConstructFiles(
        str(constructId, 'constructId'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page(r)
    })
  }

  /**
   * Appends `{ role, content, timestamp? }` to the transcript (`timestamp` a `Date` or an RFC
   * 3339 string; the vault's clock when absent): `{ constructId, seq, timestamp }`.
   */
  append(constructId, entry) {
    return call(async () => {
      const e = options(entry, ['role', 'content', 'timestamp'], 'entry')
      if (e.role === undefined || e.role === null) throw invalid('role', 'is required')
      if (e.content === undefined || e.content === null) throw invalid('content', 'is required')
      return this.#native.appendEntry(
        str(constructId, 'constructId'),
        str(e.role, 'role'),
        str(e.content, 'content'),
        optTime(e.timestamp, 'timestamp'),
      )
    })
  }

  /**
   * One page of the transcript: `{ entries, next?, total }`, at most `limit` (default 100, 1 to
   * 1000) entries after sequence number `after` in `order` (`'newest'`, the default, or
   * `'oldest'` first).
   */
  transcript(constructId, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after', 'order'], 'options')
      const r = await this.#native.transcript(
        str(constructId, 'constructId'),
        optUint(o.limit, 'limit'),
        optUint(o.after, 'after'),
        optStr(o.order, 'order'),
      )
      if (r.next === null) delete r.next
      return r
    })
  }

  /** One page of constructs (ids and counts, never content), as `credentials.list`. */
  list(opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      return page(await this.#native.listConstructs(optUint(o.limit, 'limit'), optStr(o.after, 'after')))
    })
  }

  /** The whole construct as one JSON document (format `vault.construct.v1`), for `import`. */
  export(constructId) {
    return call(async () => this.#native.exportConstruct(str(constructId, 'constructId')))
  }

  /** Imports an `export` document under its id, all or nothing; `conflict` when it exists. */
  import(document) {
    return call(async () => {
      if (!isPlainObject(document)) throw invalid('document', 'must be a plain object')
      return this.#native.importConstruct(document)
    })
  }
}

/**
 * `v.tokens`: tokens with scoped policies. Creating, listing and revoking need `admin` on
 * `tokens/...`; any caller may look at itself.
 */
class Tokens {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /**
   * Creates a token named `name` allowed what `rules` say (`[{ path, capabilities }]`; deny by
   * default). `ttl`: a duration such as `'30d'` or `'1h 30m'`, or `ttlMs`: milliseconds;
   * neither: until revoked. Resolves to a `TokenCreated` whose `token` is shown this once. A
   * token creates only tokens within its own rules (`forbidden` naming the first rule that is
   * not), expiring no later than itself.
   */
  create(name, rules, opts) {
    return call(async () => {
      const o = options(opts, ['ttl', 'ttlMs'], 'options')
      const ttl = optStr(o.ttl, 'ttl')
      const ttlMs = optUint(o.ttlMs, 'ttlMs')
      if (ttl !== undefined && ttlMs !== undefined) throw invalid('options', 'give ttl or ttlMs, not both')
      const r = await this.#native.createToken(str(name, 'name'), rulesIn(rules), ttl, ttlMs)
      return new TokenCreated(r)
    })
  }

  /**
   * One page of the tokens the caller may manage, ordered by id, never a token or its hash: at
   * most `limit` (default 100, at most 1000) whose ids sort after `after` (a previous page's
   * `next`). An array with non-enumerable `next` and `unreadable`, as `credentials.list`.
   */
  list(opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.listTokens(optUint(o.limit, 'limit'), optStr(o.after, 'after'))
      return page({ ...r, items: r.items.map(tokenInfo) })
    })
  }

  /** Revokes token `id` (`tok_...`): refused from its next call, on every surface. Resolves to `{ id }`. */
  revoke(id) {
    return call(async () => this.#native.revokeToken(str(id, 'id')))
  }

  /**
   * The caller's own token (never the token itself): `embedded` for an embedded vault opened
   * without `token`, `root` for the server's service token.
   */
  self() {
    return call(async () => tokenInfo(await this.#native.tokenSelf()))
  }
}

// ---- trading guards ----

/** Record fields whose values are documents kept as vault-core writes them (snake case). */
const GUARD_DOCUMENTS = new Set(['policy', 'changes', 'violations', 'overridden'])

function camelKey(k) {
  return k.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase())
}

/**
 * A guard record from the native layer with its keys in camelCase, except the documents of
 * GUARD_DOCUMENTS (a policy, a diff's changes, a violation: `{ rule, remaining_s, ... }` as
 * docs/guards.md shows them), and `nulls` set to null when absent.
 */
function guardRecord(v, nulls = []) {
  if (Array.isArray(v)) return v.map((x) => guardRecord(x))
  if (v === null || typeof v !== 'object') return v
  const out = {}
  for (const k of nulls) out[k] = null
  for (const [k, val] of Object.entries(v)) {
    out[camelKey(k)] = GUARD_DOCUMENTS.has(k) ? val : guardRecord(val)
  }
  return out
}

const EXECUTION_NULLS = ['filledNotional', 'realizedPnl']

function execution(r) {
  const e = guardRecord(r, EXECUTION_NULLS)
  e.overrides = e.overrides ?? []
  return e
}

/** A decimal argument: a string (money is never a JS number). */
function decimal(v, field) {
  if (typeof v !== 'string') throw invalid(field, 'must be a decimal string such as "12.5"')
  return v
}

function optDecimal(v, field) {
  return v === undefined || v === null ? undefined : decimal(v, field)
}

function requiredUint(v, field) {
  const n = optUint(v, field)
  if (n === undefined) throw invalid(field, 'is required')
  return n
}

/** The native arguments of a proposal object (`decide`, `propose`), JS shapes checked. */
function proposalArgs(proposal) {
  const keys = ['proposalId', 'instrument', 'side', 'notional', 'confidence', 'origin', 'expiresAt']
  if (!isPlainObject(proposal)) throw invalid('proposal', 'must be an object { proposalId, instrument, ... }')
  const p = options(proposal, keys, 'proposal')
  if (typeof p.confidence !== 'number') throw invalid('confidence', 'must be a number')
  return [
    str(p.proposalId, 'proposalId'),
    str(p.instrument, 'instrument'),
    str(p.side, 'side'),
    decimal(p.notional, 'notional'),
    p.confidence,
    optStr(p.origin, 'origin'),
    optTime(p.expiresAt, 'expiresAt'),
  ]
}

/**
 * `v.guards`: trading guards per account (docs/guards.md). Decimals cross as strings; records
 * have camelCase keys, while a policy, a diff's changes and a violation keep their documented
 * snake-case form. A denial is a resolved decision (`outcome: 'denied'`), not a rejection.
 */
class Guards {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /**
   * Writes a new version of `account`'s policy (the document of docs/guards.md; omitted fields
   * take their defaults). `{ comment, expectedVersion }` (compare-and-set; 0: none yet).
   * Resolves to `{ account, version, policyHash }`. Needs `admin`.
   */
  putPolicy(account, policy, opts) {
    return call(async () => {
      const o = options(opts, ['comment', 'expectedVersion'], 'options')
      if (!isPlainObject(policy)) throw invalid('policy', 'must be a plain object')
      return guardRecord(
        await this.#native.guardPutPolicy(
          str(account, 'account'),
          policy,
          optStr(o.comment, 'comment'),
          optUint(o.expectedVersion, 'expectedVersion'),
        ),
      )
    })
  }

  /** `account`'s policy (the latest, or `{ version }`); `not_found` when none is set. */
  getPolicy(account, opts) {
    return call(async () => {
      const o = options(opts, ['version'], 'options')
      const r = await this.#native.guardGetPolicy(str(account, 'account'), optUint(o.version, 'version'))
      return guardRecord(r, ['comment'])
    })
  }

  /** Writes a new version with version `toVersion`'s policy (`{ comment }`). */
  rollbackPolicy(account, toVersion, opts) {
    return call(async () => {
      const o = options(opts, ['comment'], 'options')
      return guardRecord(
        await this.#native.guardRollbackPolicy(
          str(account, 'account'),
          requiredUint(toVersion, 'toVersion'),
          optStr(o.comment, 'comment'),
        ),
      )
    })
  }

  /** The changes between two versions of `account`'s policy: `{ from, to, changes }`. */
  diffPolicy(account, from, to) {
    return call(async () =>
      this.#native.guardDiffPolicy(str(account, 'account'), requiredUint(from, 'from'), requiredUint(to, 'to')),
    )
  }

  /**
   * Evaluates every guard for `proposal` (`{ proposalId, instrument, side, notional,
   * confidence, origin?, expiresAt? }`, `notional` a decimal string, `expiresAt` a `Date` or RFC
   * 3339 string) and, when all pass, claims its execution in the same commit. Resolves to
   * `{ outcome, allowed, execution, violations, policyHash }`: `'allowed'`, `'denied'` (every
   * violation; nothing claimed) or `'already_executed'` (the first execution, unchanged). The
   * same id with other trade fields rejects with `proposal_mismatch`.
   */
  decide(account, proposal) {
    return call(async () => {
      const r = await this.#native.guardDecide(str(account, 'account'), ...proposalArgs(proposal))
      const d = guardRecord(r, ['execution'])
      if (d.execution !== null) d.execution = execution(r.execution)
      return d
    })
  }

  /**
   * Reports a change of an execution: `state` and `{ fill, realizedPnl }` (decimal strings).
   * `conflict` for a move the states do not allow. Resolves to the execution.
   */
  updateExecution(account, executionId, state, opts) {
    return call(async () => {
      const o = options(opts, ['fill', 'realizedPnl'], 'options')
      return execution(
        await this.#native.guardUpdateExecution(
          str(account, 'account'),
          str(executionId, 'executionId'),
          str(state, 'state'),
          optDecimal(o.fill, 'fill'),
          optDecimal(o.realizedPnl, 'realizedPnl'),
        ),
      )
    })
  }

  /** One execution; `not_found` when missing. */
  getExecution(account, executionId) {
    return call(async () =>
      execution(await this.#native.guardGetExecution(str(account, 'account'), str(executionId, 'executionId'))),
    )
  }

  /** One page of `account`'s executions, by id (`{ limit, after }`), as `credentials.list`. */
  executions(account, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.guardExecutions(
        str(account, 'account'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page({ items: r.items.map(execution), next: r.next, unreadable: [] })
    })
  }

  /** One page of `account`'s decisions (allowed and denied), newest first. */
  decisions(account, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.guardDecisions(
        str(account, 'account'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page({ items: r.items.map((d) => guardRecord(d, ['executionId'])), next: r.next, unreadable: [] })
    })
  }

  /** The trading state of `account` (`'global'`: the global state). */
  getState(account) {
    return call(async () => guardRecord(await this.#native.guardGetState(str(account, 'account')), STATE_NULLS))
  }

  /** Sets the trading state (`'ACTIVE' | 'REDUCING' | 'HALTED'`) with a reason. Needs `admin`. */
  setState(account, state, reason) {
    return call(async () =>
      guardRecord(
        await this.#native.guardSetState(str(account, 'account'), str(state, 'state'), str(reason, 'reason')),
        STATE_NULLS,
      ),
    )
  }

  /**
   * Lets proposal `proposalId` through `rules` (`'cooldown'`, `'anti_flip'` or their codes)
   * once; `reason` at least 10 characters. Needs `override`.
   */
  createOverride(account, proposalId, rules, reason) {
    return call(async () => {
      if (!Array.isArray(rules)) throw invalid('rules', 'must be an array of strings')
      rules.forEach((r, i) => str(r, `rules[${i}]`))
      return guardRecord(
        await this.#native.guardCreateOverride(
          str(account, 'account'),
          str(proposalId, 'proposalId'),
          [...rules],
          str(reason, 'reason'),
        ),
        ['usedBy'],
      )
    })
  }

  /**
   * Stores `proposal` (as `decide` takes it) to be decided later: `{ ..., state: 'pending',
   * createdAt, expiresAt, proposedBy }`. The same proposal again resolves to it; the same id with
   * other trade fields rejects with `proposal_mismatch`. Needs `propose`.
   */
  propose(account, proposal) {
    return call(async () =>
      guardRecord(await this.#native.guardPropose(str(account, 'account'), ...proposalArgs(proposal))),
    )
  }

  /** One page of `account`'s stored proposals, by id (`{ limit, after }`). */
  proposals(account, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.guardProposals(str(account, 'account'), optUint(o.limit, 'limit'), optStr(o.after, 'after'))
      return page({ items: r.items.map((p) => guardRecord(p)), next: r.next, unreadable: [] })
    })
  }

  /** Marks the pending proposals past their `expiresAt` as `expired`; resolves to how many. */
  expireProposals(account) {
    return call(async () => this.#native.guardExpireProposals(str(account, 'account')))
  }

  /**
   * Admits and counts one LLM call (`{ model }`). At the cap it resolves with `admitted: false`
   * and `exhausted` naming the window (`'hourly'` or `'daily'`); not a rejection.
   */
  admitLlmCall(account, opts) {
    return call(async () => {
      const o = options(opts, ['model'], 'options')
      const r = await this.#native.guardAdmitLlmCall(str(account, 'account'), optStr(o.model, 'model'))
      return guardRecord(r, ['callId', 'exhausted'])
    })
  }

  /** The budget windows now, counting nothing. */
  llmBudget(account) {
    return call(async () => guardRecord(await this.#native.guardLlmBudget(str(account, 'account'))))
  }
}

const STATE_NULLS = ['reason', 'changedAt', 'changedBy', 'policyHash']

/** A job as the native layer returns it, with absent fields as `null`. */
function job(r) {
  return {
    account: r.account,
    jobId: r.jobId,
    state: r.state,
    runAt: r.runAt,
    maxAttempts: r.maxAttempts,
    attempt: r.attempt,
    fencingToken: r.fencingToken,
    owner: r.owner ?? null,
    leaseExpiresAt: r.leaseExpiresAt ?? null,
    lastOutcome: r.lastOutcome ?? null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }
}

/**
 * `v.jobs`: scheduler jobs. Each due job goes to exactly one instance at a time, under a lease
 * and a fencing token raised by every claim; a stale owner's renew or release is `conflict`.
 * Needs `execute` on `guards/<account>/jobs/<jobId>` (`read` for `get` and `list`).
 */
class Jobs {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /**
   * Creates job `jobId` of `account`, due from `runAt` (a `Date` or RFC 3339 string; default
   * now), with `maxAttempts` claims (1 to 100, default 3). Create-if-absent: resolves to
   * `{ job, created }`, `created: false` when it existed with the same settings; other settings
   * are `conflict`.
   */
  create(account, jobId, opts) {
    return call(async () => {
      const o = options(opts, ['runAt', 'maxAttempts'], 'options')
      const r = await this.#native.createJob(
        str(account, 'account'),
        str(jobId, 'jobId'),
        optTime(o.runAt, 'runAt'),
        optUint(o.maxAttempts, 'maxAttempts'),
      )
      return { job: job(r.job), created: r.created }
    })
  }

  /**
   * Hands the due jobs of `account` (at most `limit`, 1 to 100, default 10) to `instance` under
   * a lease of `ttl` seconds (1 to 3600, default 60), each to exactly one claimer. Resolves to
   * an array of jobs (empty when nothing is due).
   */
  claimDue(account, instance, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'ttl'], 'options')
      const r = await this.#native.claimJobs(
        str(account, 'account'),
        str(instance, 'instance'),
        optUint(o.limit, 'limit'),
        optSeconds(o.ttl, 'ttl'),
      )
      return r.map(job)
    })
  }

  /**
   * Extends the lease `instance` holds with `fencingToken` to now + `ttl` seconds (default 60);
   * `conflict` naming the job and why when it is not the current lease.
   */
  renew(account, jobId, instance, fencingToken, opts) {
    return call(async () => {
      const o = options(opts, ['ttl'], 'options')
      const token = optUint(fencingToken, 'fencingToken')
      if (token === undefined) throw invalid('fencingToken', 'is required')
      return job(
        await this.#native.renewJob(
          str(account, 'account'),
          str(jobId, 'jobId'),
          str(instance, 'instance'),
          token,
          optSeconds(o.ttl, 'ttl'),
        ),
      )
    })
  }

  /**
   * Ends the run `instance` holds with `fencingToken`: `outcome` `'done'` (with `rescheduleAt`:
   * pending again then, attempts reset) or `'failed'` (pending again at `rescheduleAt`, default
   * now; `dead` after the last attempt). `conflict` naming the job and why when it is not the
   * current lease.
   */
  release(account, jobId, instance, fencingToken, outcome, opts) {
    return call(async () => {
      const o = options(opts, ['rescheduleAt'], 'options')
      const token = optUint(fencingToken, 'fencingToken')
      if (token === undefined) throw invalid('fencingToken', 'is required')
      return job(
        await this.#native.releaseJob(
          str(account, 'account'),
          str(jobId, 'jobId'),
          str(instance, 'instance'),
          token,
          str(outcome, 'outcome'),
          optTime(o.rescheduleAt, 'rescheduleAt'),
        ),
      )
    })
  }

  /** Releases every expired lease of `account`; resolves to `{ released, dead }`. */
  sweep(account) {
    return call(async () => this.#native.sweepJobs(str(account, 'account')))
  }

  /** Job `jobId` of `account`; `not_found` when missing. */
  get(account, jobId) {
    return call(async () => job(await this.#native.getJob(str(account, 'account'), str(jobId, 'jobId'))))
  }

  /** One page of the jobs of `account`, by id, as `credentials.list`. */
  list(account, opts) {
    return call(async () => {
      const o = options(opts, ['limit', 'after'], 'options')
      const r = await this.#native.listJobs(
        str(account, 'account'),
        optUint(o.limit, 'limit'),
        optStr(o.after, 'after'),
      )
      return page({ ...r, items: r.items.map(job) })
    })
  }
}

/**
 * `v.audit`: the audit log, one entry per operation on every surface (never a value or a
 * token). Reading it needs `read` on `audit`; each query and check is itself audited.
 */
class Audit {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
  }

  /**
   * One page of the entries matching every filter given, newest first: `actor` (a token id or
   * name, `root`, `embedded`, `anonymous`), `op` (e.g. `'credentials.get'`), `pathPrefix`,
   * `outcome` (`'ok'` or an error code), `since` (inclusive) and `until` (exclusive) as a `Date`
   * or an RFC 3339 string; at most `limit` (default 100, at most 1000) after `after` (a previous
   * page's `next`). An array with non-enumerable `next` and `unreadable`, as `credentials.list`.
   * A page examines at most 10,000 entries: with a selective filter it can come back short, or
   * empty, with a `next`.
   */
  query(opts) {
    return call(async () => {
      const o = options(
        opts,
        ['actor', 'op', 'pathPrefix', 'outcome', 'since', 'until', 'limit', 'after'],
        'options',
      )
      const r = await this.#native.queryAudit({
        actor: optStr(o.actor, 'actor'),
        op: optStr(o.op, 'op'),
        pathPrefix: optStr(o.pathPrefix, 'pathPrefix'),
        outcome: optStr(o.outcome, 'outcome'),
        since: optTime(o.since, 'since'),
        until: optTime(o.until, 'until'),
        limit: optUint(o.limit, 'limit'),
        after: optStr(o.after, 'after'),
      })
      return page({ ...r, items: r.items.map(auditEntry) })
    })
  }

  /**
   * Checks every writer's chain from its recorded head down to its first entry. Resolves to
   * `{ valid, entries, firstBad }`, `firstBad` being `null` or `{ seq, writer, problem, reason }`
   * with `problem` one of `changed`, `missing`, `reordered`.
   */
  verify() {
    return call(async () => auditReport(await this.#native.verifyAudit()))
  }
}

/** A vault handle, embedded or remote. Get one from `open` or `connect`. */
class Vault {
  #native

  constructor(nativeVault) {
    this.#native = nativeVault
    this.credentials = new Credentials(nativeVault)
    this.configs = new Configs(nativeVault)
    this.constructs = new Constructs(nativeVault)
    this.tokens = new Tokens(nativeVault)
    this.jobs = new Jobs(nativeVault)
    this.guards = new Guards(nativeVault)
    this.audit = new Audit(nativeVault)
    Object.freeze(this)
  }

  /** `"embedded"` or `"remote"`. */
  get mode() {
    return this.#native.mode
  }

  /** The dev key file used when `open` was given no key, else `null`. */
  get devKeyFile() {
    return this.#native.devKeyFile ?? null
  }

  /** Whether `close()` was called. */
  get closed() {
    return this.#native.closed
  }

  /** Health of the vault (remote: of the server). */
  health() {
    return call(async () => this.#native.health())
  }

  /**
   * Closes the vault; later calls reject with `invalid`, closing twice does nothing. Embedded:
   * commits the audit entries still queued and releases the data directory (once calls in
   * flight finish), before it returns, so the directory can be opened again at once; it blocks
   * the event loop for that commit. Throws a `VaultError` when those entries cannot be
   * committed (the vault is closed all the same).
   */
  close() {
    callSync(() => this.#native.close())
  }

  [util.inspect.custom]() {
    return `Vault { mode: '${this.mode}' }`
  }
}

/**
 * Opens (creating if needed) the embedded vault in directory `path`, or in the PostgreSQL
 * database `path` names when it is a `postgres://` URL: every process opening the same database
 * shares one vault (the key is then required).
 * `{ encryptionKey }` (64 hex digits or base64 of 32 bytes; another string is a passphrase),
 * `{ passphrase }`, or no key: the dev key file `<path>/root.key`, created on first open.
 * `{ token }`: a `vault_sk_...` token of this vault; every call is then checked against its
 * rules exactly as the server would (`forbidden`; `unauthorized` here or on any later call once
 * it is revoked or expired). Without it the process is trusted: everything is allowed.
 */
function open(path, opts) {
  return call(async () => {
    const o = options(opts, ['encryptionKey', 'passphrase', 'token'], 'options')
    const n = await native.openEmbedded(str(path, 'path'), {
      encryptionKey: optStr(o.encryptionKey, 'encryptionKey'),
      passphrase: optStr(o.passphrase, 'passphrase'),
      token: optStr(o.token, 'token'),
    })
    return new Vault(n)
  })
}

/**
 * Connects to a vault server at `url` (`http://host:port` or `https://host:port`). `caFile`:
 * PEM file of CA certificates trusted for `https://` besides the system's roots. `proxy`: URL
 * of a proxy for every request; without it no proxy is used (`HTTP_PROXY`, `HTTPS_PROXY`,
 * `ALL_PROXY` are ignored). `token` is the service token;
 * `cacheFile` keeps last-known-good configs for when the server is unreachable (they come back
 * with `stale: true`); `timeoutMs` bounds each request (default 10000); `cacheMaxAgeMs` is the
 * age after which a cached config is no longer served (default 24 h; `Infinity`: no limit). A
 * stale config must never turn a strategy on. Connecting does not contact the server: the first
 * call does.
 */
function connect(url, opts) {
  return call(async () => {
    const o = options(opts, ['token', 'cacheFile', 'timeoutMs', 'cacheMaxAgeMs', 'proxy', 'caFile'], 'options')
    const cacheMaxAgeMs = o.cacheMaxAgeMs
    if (
      cacheMaxAgeMs !== undefined &&
      cacheMaxAgeMs !== null &&
      cacheMaxAgeMs !== Infinity &&
      (!Number.isSafeInteger(cacheMaxAgeMs) || cacheMaxAgeMs < 0)
    ) {
      throw invalid('cacheMaxAgeMs', 'must be a non-negative integer of milliseconds, or Infinity for no limit')
    }
    const timeoutMs = o.timeoutMs
    if (
      timeoutMs !== undefined &&
      timeoutMs !== null &&
      (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0 || timeoutMs > 2_147_483_647)
    ) {
      throw invalid('timeoutMs', 'must be a positive integer of milliseconds (at most 2^31 - 1)')
    }
    const n = await native.connectRemote(str(url, 'url'), {
      token: optStr(o.token, 'token'),
      cacheFile: optStr(o.cacheFile, 'cacheFile'),
      timeoutMs: timeoutMs ?? undefined,
      cacheMaxAgeMs: cacheMaxAgeMs ?? undefined,
      proxy: optStr(o.proxy, 'proxy'),
      caFile: optStr(o.caFile, 'caFile'),
    })
    return new Vault(n)
  })
}

/**
 * Every stable error code (vault-core's `ErrorCode::ALL`, in its order; the tests check it
 * against the native `errorCodes()`). A newer server may send a code not listed here: it
 * arrives as its own string.
 */
const ERROR_CODES = Object.freeze([
  'not_found',
  'conflict',
  'invalid',
  'unauthorized',
  'forbidden',
  'guard_rejected',
  'already_executed',
  'proposal_mismatch',
  'rate_limited',
  'budget_exhausted',
  'wrong_key',
  'integrity',
  'payload_too_large',
  'method_not_allowed',
  'backend_unavailable',
  'unavailable',
  'internal',
])

exports.open = open
exports.connect = connect
exports.Vault = Vault
exports.Credential = Credential
exports.TokenCreated = TokenCreated
exports.VaultError = VaultError
exports.ERROR_CODES = ERROR_CODES
// Not API: lets the tests check the error mapping for codes they cannot provoke.
Object.defineProperty(exports, '_translateNativeError', { value: translate, enumerable: false })
