// The package surface index.d.ts declares, checked at run time: exports (CommonJS and ESM),
// the namespaces and methods of a vault, and the exact fields of every record.

import assert from 'node:assert/strict'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'

import * as esm from 'vault-node'
import { KEY, tmpDir, vault } from './helpers.mjs'

describe('package surface', () => {
  let dir
  let v
  before(async () => {
    dir = tmpDir()
    v = await esm.open(dir, { encryptionKey: KEY })
  })
  after(() => {
    v?.close()
    fs.rmSync(dir, { recursive: true, force: true })
  })

  it('exports the same names to require and import', () => {
    const names = ['Credential', 'ERROR_CODES', 'TokenCreated', 'Vault', 'VaultError', 'connect', 'open']
    assert.deepEqual(Object.keys(vault).sort(), names)
    for (const n of names) assert.equal(esm[n], vault[n], n)
  })

  it('a vault has the credentials, configs, constructs, tokens, guards, jobs and audit namespaces and nothing unexpected', () => {
    assert.ok(v instanceof vault.Vault)
    assert.deepEqual(Object.keys(v).sort(), ['audit', 'configs', 'constructs', 'credentials', 'guards', 'jobs', 'tokens'])
    const methods = (o) =>
      Object.getOwnPropertyNames(Object.getPrototypeOf(o))
        .filter((n) => n !== 'constructor')
        .sort()
    assert.deepEqual(methods(v.credentials), [
      'delete',
      'deleteVersion',
      'destroyVersion',
      'due',
      'get',
      'getSync',
      'list',
      'put',
      'rotate',
      'setSettings',
      'undeleteVersion',
      'versions',
    ])
    assert.deepEqual(methods(v.configs), ['delete', 'diff', 'get', 'getSync', 'history', 'list', 'put', 'rollback', 'setSettings', 'settings', 'watch', 'watcher'])
    assert.deepEqual(methods(v.constructs), [
      'append',
      'deleteFile',
      'export',
      'getCapsule',
      'getFile',
      'import',
      'list',
      'listFiles',
      'putCapsule',
      'putFile',
      'transcript',
    ])
    assert.deepEqual(methods(v.tokens), ['create', 'list', 'revoke', 'self'])
    assert.deepEqual(methods(v.guards), [
      'admitLlmCall',
      'createOverride',
      'decide',
      'decisions',
      'diffPolicy',
      'executions',
      'expireProposals',
      'getExecution',
      'getPolicy',
      'getState',
      'llmBudget',
      'proposals',
      'propose',
      'putPolicy',
      'rollbackPolicy',
      'setState',
      'updateExecution',
    ])
    assert.deepEqual(methods(v.jobs), ['claimDue', 'create', 'get', 'list', 'release', 'renew', 'sweep'])
    assert.deepEqual(methods(v.audit), ['query', 'verify'])
    assert.deepEqual(methods(v), ['close', 'closed', 'devKeyFile', 'health', 'mode'])
    assert.ok(Object.isFrozen(v))
  })

  it('records have exactly the declared fields', async () => {
    const w = await v.credentials.put('K', 'v', { service: 's' })
    assert.deepEqual(Object.keys(w).sort(), ['action', 'key', 'service', 'version'])
    const c = await v.credentials.get('K')
    assert.deepEqual(Object.keys(c).sort(), ['createdAt', 'key', 'metadata', 'service', 'updatedAt', 'version'])
    assert.deepEqual(Object.keys(c.toJSON()).sort(), ['createdAt', 'key', 'metadata', 'service', 'updatedAt', 'value', 'version'])
    const infoKeys = ['createdAt', 'due', 'key', 'maxVersions', 'metadata', 'oldestVersion', 'service', 'state', 'updatedAt', 'version']
    const [info] = await v.credentials.list('s')
    assert.deepEqual(Object.keys(info).sort(), infoKeys)
    const rotating = await v.credentials.setSettings('K', { service: 's', rotateEvery: '7d' })
    assert.deepEqual(Object.keys(rotating).sort(), [...infoKeys, 'dueAt', 'rotateEvery'].sort())
    const versions = await v.credentials.versions('K', { service: 's' })
    assert.deepEqual(Object.keys(versions).sort(), ['currentVersion', 'key', 'maxVersions', 'oldestVersion', 'service', 'versions'])
    assert.deepEqual(Object.keys(versions.versions[0]).sort(), ['createdAt', 'state', 'version'])
    const deleted = await v.credentials.deleteVersion('K', 1, { service: 's' })
    assert.deepEqual(Object.keys(deleted).sort(), ['createdAt', 'deletedAt', 'state', 'version'])
    await v.credentials.undeleteVersion('K', 1, { service: 's' })
    const cw = await v.configs.put('s', 'default')
    assert.deepEqual(Object.keys(cw).sort(), ['action', 'service', 'strategyId', 'version'])
    const cfg = await v.configs.get('s', 'default')
    assert.deepEqual(Object.keys(cfg).sort(), [
      'changedBy',
      'createdAt',
      'deleted',
      'enabled',
      'params',
      'revision',
      'riskLimits',
      'service',
      'stale',
      'strategyId',
      'symbols',
      'updatedAt',
      'version',
    ])
    const page = await v.configs.history('s', 'default')
    assert.deepEqual(Object.keys(page).sort(), ['oldestVersion', 'versions'])
    await v.configs.put('s', 'default')
    const first = await v.configs.history('s', 'default', { limit: 1 })
    assert.deepEqual(Object.keys(first).sort(), ['next', 'oldestVersion', 'versions'])
    assert.deepEqual(await v.configs.settings('s'), { maxVersions: 1000 })
    const list = await v.credentials.list('s')
    assert.deepEqual(Object.keys(list), ['0'])
    assert.deepEqual(list.unreadable, [])
    assert.equal(list.next, undefined)
    assert.deepEqual(Object.keys(first.versions[0]).sort(), Object.keys(cfg).sort())
    const d = await v.credentials.delete('K')
    assert.deepEqual(Object.keys(d).sort(), ['key', 'service'])
    const t = await v.tokens.create('t', [{ path: 's/*', capabilities: ['read'] }])
    assert.ok(t instanceof vault.TokenCreated)
    assert.deepEqual(Object.keys(t).sort(), ['createdAt', 'expiresAt', 'id', 'name', 'rules'])
    assert.deepEqual(Object.keys(t.toJSON()).sort(), ['createdAt', 'expiresAt', 'id', 'name', 'rules', 'token'])
    assert.deepEqual(Object.keys(t.rules[0]).sort(), ['capabilities', 'path'])
    const tokenInfo = ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revoked', 'rules']
    const tokens = await v.tokens.list()
    assert.deepEqual(Object.keys(tokens), ['0'])
    assert.deepEqual(tokens.unreadable, [])
    assert.equal(tokens.next, undefined)
    assert.deepEqual(Object.keys(tokens[0]).sort(), tokenInfo)
    assert.deepEqual(Object.keys(await v.tokens.self()).sort(), tokenInfo)
    assert.deepEqual(Object.keys(await v.tokens.revoke(t.id)), ['id'])
    const entries = await v.audit.query({ limit: 1 })
    assert.deepEqual(Object.keys(entries), ['0'])
    assert.deepEqual(entries.unreadable, [])
    assert.equal(typeof entries.next, 'string')
    assert.deepEqual(Object.keys(entries[0]).sort(), [
      'actorId',
      'actorName',
      'client',
      'hash',
      'op',
      'outcome',
      'path',
      'prev',
      'requestId',
      'seq',
      'time',
      'writer',
    ])
    const report = await v.audit.verify()
    assert.deepEqual(Object.keys(report).sort(), ['entries', 'firstBad', 'valid'])
    const h = await v.health()
    assert.deepEqual(Object.keys(h).sort(), ['components', 'message', 'ok', 'overdueCredentials', 'status', 'timestamp', 'version'])
    for (const s of Object.values(h.components)) assert.equal(typeof s, 'string')
  })
})
