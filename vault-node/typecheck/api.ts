// Compile-only check of index.d.ts (`npm run typecheck`): every call of the API with its exact
// types, and `@ts-expect-error` on misuses the declarations must reject. Never run.

import {
  type Job,
  type Jobs,
  type BudgetAdmission,
  type BudgetWindow,
  type Decision,
  type DecisionRecord,
  type Execution,
  type Guards,
  type OverrideRecord,
  type PolicyDiff,
  type PolicyRecord,
  type PolicyWritten,
  type ProposalRecord,
  type StateRecord,
  type Audit,
  type AuditEntry,
  type AuditVerifyReport,
  type Capsule,
  type CapsuleWritten,
  type ConstructExport,
  type ConstructFile,
  type ConstructFileInfo,
  type ConstructSummary,
  type EntryAppended,
  type FileWritten,
  type ImportReport,
  type TranscriptPage,
  connect,
  Credential,
  ERROR_CODES,
  open,
  type ConfigChange,
  type ConfigDiff,
  type ConfigHistory,
  type ConfigWatch,
  type ConfigWatcher,
  type ConfigWritten,
  type CredentialDeleted,
  type CredentialInfo,
  type CredentialVersions,
  type CredentialWritten,
  type ErrorCode,
  type Health,
  type Rule,
  type StrategyConfig,
  TokenCreated,
  type TokenInfo,
  type TokenRevoked,
  type Vault,
  type VersionInfo,
  VaultError,
} from 'vault-node'

export async function everyCall(): Promise<void> {
  const v: Vault = await open('./vault-data', { encryptionKey: '00'.repeat(32) })
  const p: Vault = await open('./vault-data', { passphrase: 'correct horse' })
  const d: Vault = await open('./vault-data')
  const r: Vault = await connect('http://127.0.0.1:8000', { token: 't', cacheFile: './cache', timeoutMs: 5000 })
  const mode: 'embedded' | 'remote' = r.mode
  const devKey: string | null = d.devKeyFile
  const closed: boolean = p.closed

  const w: CredentialWritten = await v.credentials.put('OPENAI_API_KEY', 'sk-test', { service: 'chatty' })
  await v.credentials.put('K', 'v', { service: 's', metadata: { owner: 'me', n: 1 }, expectedVersion: 0 })
  const action: 'created' | 'updated' = w.action
  const cred: Credential = await v.credentials.get('OPENAI_API_KEY', { service: 'chatty' })
  const value: string = cred.value
  const json: { value: '[REDACTED]' } = cred.toJSON()
  const some: Credential = await v.credentials.get('OPENAI_API_KEY')
  const now: Credential = v.credentials.getSync('OPENAI_API_KEY', { service: 'chatty' })
  const nowAny: Credential = v.credentials.getSync('OPENAI_API_KEY')
  const infos: CredentialInfo[] = await v.credentials.list('chatty')
  const deleted: CredentialDeleted = await v.credentials.delete('OPENAI_API_KEY', { service: 'chatty' })
  const deletedFrom: string = deleted.service

  await v.credentials.put('K', 'v', { service: 's', maxVersions: 5, rotateEvery: '30d' })
  const v1: Credential = await v.credentials.get('K', { service: 's', version: 1 })
  const versions: CredentialVersions = await v.credentials.versions('K', { service: 's', limit: 10 })
  const olderVersions = await v.credentials.versions('K', { service: 's', after: versions.next })
  const state: 'active' | 'deleted' | 'destroyed' | undefined = olderVersions.versions[0]?.state
  const hidden: VersionInfo = await v.credentials.deleteVersion('K', 1, { service: 's' })
  await v.credentials.undeleteVersion('K', 1, { service: 's' })
  const destroyed: VersionInfo = await v.credentials.destroyVersion('K', 1, { service: 's' })
  const rotated: CredentialWritten = await v.credentials.rotate('K', { service: 's', length: 40, charset: 'hex' })
  await v.credentials.rotate('K', { service: 's' })
  const settings: CredentialInfo = await v.credentials.setSettings('K', { service: 's', maxVersions: 3, rotateEvery: 'off' })
  const period: string | undefined = settings.rotateEvery
  const dueNow: boolean = settings.due
  const overdue: CredentialInfo[] = await v.credentials.due('s', { limit: 10 })
  const overdueCount: number = (await v.health()).overdueCredentials
  void [v1, state, hidden, destroyed, rotated, period, dueNow, overdue, overdueCount]

  const cw: ConfigWritten = await v.configs.put('fxshinobi', 'default', {
    params: { fast: 12 },
    symbols: ['EUR_USD'],
    riskLimits: { maxPositionSize: 1000 },
    enabled: true,
    expectedVersion: 3,
  })
  await v.configs.put('fxshinobi', 'bare')
  const cfg: StrategyConfig = await v.configs.get('fxshinobi', 'default', { version: 2 })
  const capW: CapsuleWritten = await v.constructs.putCapsule('nova', { name: 'Nova' }, { expectedVersion: 0 })
  const cap: Capsule = await v.constructs.getCapsule('nova', { version: capW.version })
  const capName = cap.capsule.name
  const fw: FileWritten = await v.constructs.putFile('nova', 'persona.md', Buffer.from('# Nova'))
  await v.constructs.putFile('nova', 'raw.bin', new Uint8Array([1, 2]), { expectedVersion: fw.version })
  const cf: ConstructFile = await v.constructs.getFile('nova', 'persona.md', { version: 1 })
  const bytes: Buffer = cf.content
  const files: ConstructFileInfo[] = await v.constructs.listFiles('nova', { limit: 10 })
  await v.constructs.deleteFile('nova', 'raw.bin')
  const ea: EntryAppended = await v.constructs.append('nova', { role: 'user', content: 'hi' })
  await v.constructs.append('nova', { role: 'user', content: 'hi', timestamp: new Date() })
  const tp: TranscriptPage = await v.constructs.transcript('nova', { limit: 50, after: ea.seq, order: 'oldest' })
  const nextSeq: number | undefined = tp.next
  const summaries: ConstructSummary[] = await v.constructs.list({ limit: 5 })
  const doc: ConstructExport = await v.constructs.export('nova')
  const imported: ImportReport = await v.constructs.import(doc)
  void [capName, bytes, files, nextSeq, summaries, imported]
  const cfgNow: StrategyConfig = v.configs.getSync('fxshinobi', 'default', { version: 2 })
  const cfgLatest: StrategyConfig = v.configs.getSync('fxshinobi', 'default')
  const stale: boolean = cfg.stale
  const strategyId: string = cfg.strategyId
  const configs: StrategyConfig[] = await v.configs.list('fxshinobi')
  const page: ConfigHistory = await v.configs.history('fxshinobi', 'default', { limit: 10 })
  const older: ConfigHistory = await v.configs.history('fxshinobi', 'default', { limit: 10, after: page.next })
  const all: ConfigHistory = await v.configs.history('fxshinobi', 'default')
  const diff: ConfigDiff = await v.configs.diff('fxshinobi', 'default', 1, 2)
  const rolled: ConfigWritten = await v.configs.rollback('fxshinobi', 'default', 1)
  const undone: ConfigWritten = await v.configs.rollback('fxshinobi', 'default', 1, { comment: 'undo', expectedVersion: 3 })
  const gone: 'created' | 'updated' | 'deleted' = (await v.configs.delete('fxshinobi', 'default', { expectedVersion: 4 })).action
  const written: ConfigWritten = await v.configs.put('fxshinobi', 'default', { params: {}, comment: 'why' })
  const watched: ConfigWatch = await v.configs.watch('fxshinobi', { since: cfg.revision, timeout: 30 })
  const changedId: string | undefined = watched.changes[0]?.strategyId
  const watcher: ConfigWatcher = v.configs.watcher('fxshinobi', { since: watched.revision })
  for await (const w of watcher) {
    const rev: number = w.revision
    const at: number | undefined = watcher.revision
    break
  }
  const who: string | undefined = cfg.changedBy?.name
  const why: string | undefined = cfg.comment
  const listedRevision: number | undefined = configs.length > 0 ? (await v.configs.list('fxshinobi')).revision : undefined
  const firstChange: ConfigChange | undefined = diff.changes[0]
  const op: 'add' | 'remove' | 'replace' | undefined = firstChange?.op
  const newest: StrategyConfig | undefined = page.versions[0]
  const next: number | undefined = page.next
  const oldest: number = page.oldestVersion
  const credPage = await v.credentials.list('chatty', { limit: 10 })
  const more = await v.credentials.list('chatty', { limit: 10, after: credPage.next })
  const cursor: string | undefined = more.next
  const bad: string[] = (await v.configs.list('fxshinobi', { after: 'a' })).unreadable.map((u) => `${u.name}: ${u.code}`)
  const kept: number = (await v.configs.setSettings('fxshinobi', { maxVersions: 50 })).maxVersions
  const keptNow: number = (await v.configs.settings('fxshinobi')).maxVersions
  const aged = await connect('http://127.0.0.1:8000', { token: 't', cacheMaxAgeMs: 60_000 })
  void [oldest, cursor, bad, kept, keptNow, aged]
  const scanner: TokenCreated = await v.tokens.create('scanner', [
    { path: 'credentials/fxshinobi/BITVAVO_READONLY_*', capabilities: ['read'] },
  ])
  const rules: Rule[] = [{ path: 'configs/fxshinobi/*', capabilities: ['read', 'list'] }]
  const executor = await v.tokens.create('executor', rules, { ttl: '30d' })
  await v.tokens.create('short', rules, { ttlMs: 60_000 })
  const secretToken: string = scanner.token
  const expires: string | null = executor.expiresAt
  const tokenJson: { token: '[REDACTED]'; id: string } = scanner.toJSON()
  const scoped: Vault = await open('./vault-data', { encryptionKey: '00'.repeat(32), token: secretToken })
  const scopedRemote: Vault = await connect('http://127.0.0.1:8000', { token: secretToken })
  const me: TokenInfo = await scoped.tokens.self()
  const used: string | null = me.lastUsedAt
  const tokenPage = await v.tokens.list({ limit: 10 })
  const tokenNext: string | undefined = (await v.tokens.list({ after: tokenPage.next })).next
  const listed: TokenInfo[] = tokenPage
  const revoked: TokenRevoked = await v.tokens.revoke(scanner.id)
  const laterCapability: Rule = { path: 'llm/gpt-4o', capabilities: ['infer'] }
  void [expires, tokenJson, scopedRemote, used, tokenNext, listed, revoked, laterCapability]
  const guards: Guards = v.guards
  const policyWritten: PolicyWritten = await guards.putPolicy(
    'acct1',
    { allowlist: ['EUR_USD'], max_position_notional: { default: '5000' }, llm_calls: { hourly: 1 } },
    { comment: 'limits', expectedVersion: 0 },
  )
  const policy: PolicyRecord = await v.guards.getPolicy('acct1', { version: policyWritten.version })
  const cooldown: number | undefined = policy.policy.cooldown_s
  const rolledBack: PolicyWritten = await v.guards.rollbackPolicy('acct1', 1, { comment: 'back' })
  const policyDiff: PolicyDiff = await v.guards.diffPolicy('acct1', 1, 2)
  const decision: Decision = await v.guards.decide('acct1', {
    proposalId: 'p1',
    instrument: 'EUR_USD',
    side: 'buy',
    notional: '2500',
    confidence: 0.8,
    origin: 'discretionary',
    expiresAt: new Date(),
  })
  const outcome: 'allowed' | 'denied' | 'already_executed' = decision.outcome
  const firstRule: string | undefined = decision.violations[0]?.rule
  // @ts-expect-error notional is a decimal string, never a number
  await v.guards.decide('acct1', { proposalId: 'p1', instrument: 'EUR_USD', side: 'buy', notional: 2500, confidence: 0.8 })
  // @ts-expect-error a side is buy or sell
  await v.guards.decide('acct1', { proposalId: 'p1', instrument: 'EUR_USD', side: 'long', notional: '1', confidence: 0.8 })
  const updated: Execution = await v.guards.updateExecution('acct1', 'ex_1', 'filled', { fill: '2500', realizedPnl: '-3' })
  const fetched: Execution = await v.guards.getExecution('acct1', updated.executionId)
  const executionPage: Execution[] = await v.guards.executions('acct1', { limit: 10 })
  const decisionPage: DecisionRecord[] = await v.guards.decisions('acct1', { after: 'x' })
  const halted: StateRecord = await v.guards.setState('acct1', 'HALTED', 'venue outage')
  // @ts-expect-error a trading state is ACTIVE, REDUCING or HALTED
  await v.guards.setState('acct1', 'PAUSED', 'no')
  const globalState: StateRecord = await v.guards.getState('global')
  const override: OverrideRecord = await v.guards.createOverride('acct1', 'p2', ['cooldown'], 'desk approved re-entry')
  const admission: BudgetAdmission = await v.guards.admitLlmCall('acct1', { model: 'gpt-4o' })
  const exhausted: 'hourly' | 'daily' | null = admission.exhausted
  const windows: BudgetWindow[] = await v.guards.llmBudget('acct1')
  void [rolledBack, policyDiff, cooldown, outcome, firstRule, fetched, executionPage, decisionPage]
  const proposed: ProposalRecord = await v.guards.propose('acct1', { proposalId: 'p3', instrument: 'EUR_USD', side: 'sell', notional: '10', confidence: 0.9 })
  const proposalState: 'pending' | 'decided' | 'expired' = proposed.state
  const proposalPage: ProposalRecord[] = await v.guards.proposals('acct1', { limit: 10 })
  const expiredCount: number = await v.guards.expireProposals('acct1')
  void [halted, globalState, override, exhausted, windows, proposalState, proposalPage, expiredCount]
  const jobs: Jobs = v.jobs
  const made: { job: Job; created: boolean } = await jobs.create('acct', 'scan', { runAt: new Date(), maxAttempts: 3 })
  const leased: Job[] = await v.jobs.claimDue('acct', 'scheduler-1', { limit: 10, ttl: 60 })
  const token: number = leased[0].fencingToken
  const renewedJob: Job = await v.jobs.renew('acct', 'scan', 'scheduler-1', token, { ttl: 60 })
  const releasedJob: Job = await v.jobs.release('acct', 'scan', 'scheduler-1', token, 'failed', { rescheduleAt: '2026-11-22T10:00:00Z' })
  // @ts-expect-error an outcome is done or failed
  await v.jobs.release('acct', 'scan', 'scheduler-1', token, 'maybe')
  const swept: { released: number; dead: number } = await v.jobs.sweep('acct')
  const jobState: 'pending' | 'leased' | 'done' | 'dead' = (await v.jobs.get('acct', 'scan')).state
  const jobPage: Job[] = await v.jobs.list('acct', { limit: 10, after: 'a' })
  void [made, renewedJob, releasedJob, swept, jobState, jobPage]
  const audit: Audit = v.audit
  const entries: AuditEntry[] = await audit.query()
  const filtered = await v.audit.query({
    actor: 'scanner',
    op: 'credentials.get',
    pathPrefix: 'credentials/fxshinobi/',
    outcome: 'forbidden',
    since: new Date(Date.now() - 3_600_000),
    until: '2026-11-23T07:00:00Z',
    limit: 50,
  })
  const olderEntries = await v.audit.query({ after: filtered.next })
  const entry: AuditEntry | undefined = olderEntries[0]
  const requestId: string | null | undefined = entry?.requestId
  const actorId: string | undefined = entry?.actorId
  const seq: number | undefined = entry?.seq
  const report: AuditVerifyReport = await v.audit.verify()
  const problem: 'changed' | 'missing' | 'reordered' | undefined = report.firstBad?.problem
  const checked: number = report.entries
  void [entries, requestId, actorId, seq, problem, checked, report.valid]
  const h: Health = await v.health()
  const status: 'ok' | 'degraded' | 'down' = h.status
  v.close()

  try {
    await v.credentials.get('X')
  } catch (err) {
    if (err instanceof VaultError) {
      const code: string = err.code
      const known: readonly ErrorCode[] = ERROR_CODES
      const newer: ErrorCode = 'rate_limited'
      void [code, known, newer]
    }
  }
  void [mode, devKey, closed, action, value, json, some, now, nowAny, cfgNow, cfgLatest, infos, deleted, deletedFrom, cw, stale, strategyId, configs, older, all, newest, next, status, op, rolled]
}

export async function misuses(v: Vault): Promise<void> {
  // @ts-expect-error lifecycle operations need the service
  await v.credentials.versions('K')
  // @ts-expect-error a version number, not a string
  await v.credentials.destroyVersion('K', '1', { service: 's' })
  // @ts-expect-error charset is one of the four
  await v.credentials.rotate('K', { service: 's', charset: 'emoji' })
  // @ts-expect-error settings options are camelCase
  await v.credentials.setSettings('K', { service: 's', max_versions: 3 })
  // @ts-expect-error versions carry no value
  ;(await v.credentials.versions('K', { service: 's' })).versions[0].value
  // @ts-expect-error service is required on put
  await v.credentials.put('K', 'v')
  // @ts-expect-error options are camelCase
  await v.credentials.put('K', 'v', { service: 's', expected_version: 1 })
  // @ts-expect-error the value is a string
  await v.credentials.put('K', 42, { service: 's' })
  // @ts-expect-error value is read-only
  ;(await v.credentials.get('K')).value = 'x'
  // @ts-expect-error listed credentials carry no value
  ;(await v.credentials.list('s'))[0].value
  // @ts-expect-error riskLimits, not risk_limits
  await v.configs.put('s', 'id', { risk_limits: {} })
  // @ts-expect-error symbols is an array
  await v.configs.put('s', 'id', { symbols: 'EUR_USD' })
  // @ts-expect-error getSync returns the record, not a Promise
  ;(v.credentials.getSync('K') satisfies Promise<Credential>)
  // @ts-expect-error getSync options are checked like get's
  v.configs.getSync('s', 'id', { versoin: 2 })
  // @ts-expect-error either a key or a passphrase
  await open('./d', { encryptionKey: 'k', passphrase: 'p' })
  // @ts-expect-error cacheFile, not cache_file
  await connect('http://x', { cache_file: 'c' })
  // @ts-expect-error watch options are since and timeout
  await v.configs.watch('s', { sinse: 1 })
  // @ts-expect-error diff takes two version numbers
  await v.configs.diff('s', 'id', { from: 1, to: 2 })
  // @ts-expect-error history options are limit and after
  await v.configs.history('s', 'id', { version: 1 })
  // @ts-expect-error list cursors are names (strings)
  await v.configs.list('s', { after: 3 })
  // @ts-expect-error a page's next is read-only
  ;(await v.configs.list('s')).next = 'x'
  // @ts-expect-error delete resolves to a record, not void
  const gone: void = await v.credentials.delete('K')
  void gone
  // @ts-expect-error vaults come from open/connect
  new Credential()
  // @ts-expect-error rules are { path, capabilities } objects
  await v.tokens.create('t', ['read:credentials/*'])
  // @ts-expect-error capabilities is an array
  await v.tokens.create('t', [{ path: 'a', capabilities: 'read' }])
  // @ts-expect-error ttl or ttlMs, not both
  await v.tokens.create('t', [], { ttl: '1h', ttlMs: 1000 })
  // @ts-expect-error the ttl text is a string; milliseconds go in ttlMs
  await v.tokens.create('t', [], { ttl: 3600 })
  // @ts-expect-error a created token's token is read-only
  ;(await v.tokens.create('t', [])).token = 'x'
  // @ts-expect-error listed tokens carry no token
  ;(await v.tokens.list())[0].token
  // @ts-expect-error revoke takes the id
  await v.tokens.revoke({ id: 'tok_x' })
  // @ts-expect-error tokens come from tokens.create
  new TokenCreated()
  // @ts-expect-error audit filters are camelCase
  await v.audit.query({ path_prefix: 'credentials/' })
  // @ts-expect-error since is a Date or a string
  await v.audit.query({ since: 1_700_000_000_000 })
  // @ts-expect-error entries are camelCase
  ;(await v.audit.query())[0].actor_id
  // @ts-expect-error the transcript order is 'newest' or 'oldest'
  await v.constructs.transcript('nova', { order: 'sideways' })
  // @ts-expect-error file content is bytes, not a string
  await v.constructs.putFile('nova', 'f', 'text')
  // @ts-expect-error an entry needs its content
  await v.constructs.append('nova', { role: 'user' })
  // @ts-expect-error close does not return a Promise
  await v.close().then(() => {})
}
