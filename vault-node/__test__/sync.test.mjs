// The synchronous embedded reads: credentials.getSync and configs.getSync return the same
// records as the awaited get, throw (not reject) a VaultError with the same codes, throw
// `invalid` on a closed handle, and are refused with `invalid` in remote mode.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import util from 'node:util'

import { SECRET, closedPort, rejectsWith, setupMode, vault } from './helpers.mjs'

/** Asserts `fn()` throws (synchronously) a VaultError of `code`; returns the error. */
function throwsWith(fn, code) {
  let err
  let returned
  try {
    returned = fn()
  } catch (e) {
    err = e
  }
  assert.ok(!(returned instanceof Promise), 'a sync call never returns a Promise')
  assert.ok(err, `expected a throw with code ${code}, but the call returned`)
  assert.ok(err instanceof vault.VaultError, `throws a VaultError (got ${err?.name}: ${err?.message})`)
  assert.equal(err.code, code, `code (message: ${err.message})`)
  assert.ok(!err.message.startsWith('[vault:'), 'native prefix stripped from the message')
  assert.ok(!String(err.message).includes(SECRET) && !String(err.stack).includes(SECRET), 'no secret')
  return err
}

describe('embedded: sync reads', () => {
  let env
  let v
  before(async () => {
    env = await setupMode('embedded')
    v = env.vault
    await v.credentials.put('API_KEY', SECRET, { service: 'chatty', metadata: { owner: 'me' } })
    await v.credentials.put('API_KEY', `${SECRET}-2`, { service: 'chatty' })
    await v.credentials.put('SHARED', 'a', { service: 'one' })
    await v.credentials.put('SHARED', 'b', { service: 'two' })
    await v.configs.put('fx', 'default', { params: { fast: 12 }, symbols: ['EUR_USD'] })
    await v.configs.put('fx', 'default', { params: { fast: 13 } })
  })
  after(async () => {
    await env?.teardown()
  })

  it('credentials.getSync returns the same Credential as the awaited get', async () => {
    const c = v.credentials.getSync('API_KEY', { service: 'chatty' })
    assert.ok(!(c instanceof Promise))
    assert.ok(c instanceof vault.Credential)
    assert.equal(c.value, `${SECRET}-2`)
    assert.equal(c.version, 2)
    assert.deepEqual(c.metadata, { owner: 'me' })
    const awaited = await v.credentials.get('API_KEY', { service: 'chatty' })
    assert.deepEqual(c.toJSON(), awaited.toJSON())
    assert.equal(c.value, awaited.value)
    // without service: the one service that has it
    assert.equal(v.credentials.getSync('API_KEY').service, 'chatty')
    // redacted like any Credential
    assert.ok(!util.inspect(c).includes(SECRET))
    assert.ok(!JSON.stringify(c).includes(SECRET))
  })

  it('credentials.getSync sees a put that just resolved', async () => {
    await v.credentials.put('FRESH', 'v1', { service: 's' })
    assert.equal(v.credentials.getSync('FRESH', { service: 's' }).value, 'v1')
    await v.credentials.put('FRESH', 'v2', { service: 's' })
    assert.equal(v.credentials.getSync('FRESH', { service: 's' }).value, 'v2')
    await v.credentials.delete('FRESH', { service: 's' })
    throwsWith(() => v.credentials.getSync('FRESH', { service: 's' }), 'not_found')
  })

  it('credentials.getSync throws the codes the awaited get rejects with', async () => {
    throwsWith(() => v.credentials.getSync('NOPE', { service: 'chatty' }), 'not_found')
    await rejectsWith(assert, v.credentials.get('NOPE', { service: 'chatty' }), 'not_found')
    throwsWith(() => v.credentials.getSync('SHARED'), 'conflict')
    throwsWith(() => v.credentials.getSync('bad key!', { service: 'chatty' }), 'invalid')
    throwsWith(() => v.credentials.getSync('API_KEY', { servcie: 'chatty' }), 'invalid')
    throwsWith(() => v.credentials.getSync(42), 'invalid')
    throwsWith(() => v.credentials.getSync('API_KEY', { service: 7 }), 'invalid')
  })

  it('configs.getSync returns the same config as the awaited get, latest or by version', async () => {
    const latest = v.configs.getSync('fx', 'default')
    assert.deepEqual(latest, await v.configs.get('fx', 'default'))
    assert.equal(latest.version, 2)
    assert.deepEqual(latest.params, { fast: 13 })
    assert.deepEqual(latest.symbols, ['EUR_USD'])
    assert.equal(latest.stale, false)
    const first = v.configs.getSync('fx', 'default', { version: 1 })
    assert.deepEqual(first, await v.configs.get('fx', 'default', { version: 1 }))
    assert.deepEqual(first.params, { fast: 12 })
  })

  it('configs.getSync throws the codes the awaited get rejects with', () => {
    throwsWith(() => v.configs.getSync('fx', 'missing'), 'not_found')
    throwsWith(() => v.configs.getSync('fx', 'default', { version: 9 }), 'not_found')
    throwsWith(() => v.configs.getSync('fx', 'default', { version: -1 }), 'invalid')
    throwsWith(() => v.configs.getSync('fx', 'default', { versoin: 1 }), 'invalid')
    throwsWith(() => v.configs.getSync('fx'), 'invalid')
  })

  it('a closed handle throws invalid', async () => {
    const other = await env.another()
    await other.credentials.put('K', 'v', { service: 's' })
    assert.equal(other.credentials.getSync('K', { service: 's' }).value, 'v')
    other.close()
    const err = throwsWith(() => other.credentials.getSync('K', { service: 's' }), 'invalid')
    assert.match(err.message, /closed/)
    throwsWith(() => other.configs.getSync('s', 'default'), 'invalid')
  })
})

describe('remote: sync reads are refused', () => {
  let env
  let v
  before(async () => {
    env = await setupMode('remote')
    v = env.vault
    await v.credentials.put('K', SECRET, { service: 's' })
    await v.configs.put('s', 'default', { params: { a: 1 } })
  })
  after(async () => {
    await env?.teardown()
  })

  it('getSync throws invalid saying sync calls are embedded-only; the awaited get works', async () => {
    const err = throwsWith(() => v.credentials.getSync('K', { service: 's' }), 'invalid')
    assert.match(err.message, /embedded-only/)
    assert.match(throwsWith(() => v.configs.getSync('s', 'default'), 'invalid').message, /embedded-only/)
    assert.equal((await v.credentials.get('K', { service: 's' })).value, SECRET)
    assert.deepEqual((await v.configs.get('s', 'default')).params, { a: 1 })
  })

  it('refused without contacting the server (also when it is unreachable)', async () => {
    const port = await closedPort()
    const r = await vault.connect(`http://127.0.0.1:${port}`, { timeoutMs: 60_000 })
    const t0 = performance.now()
    throwsWith(() => r.credentials.getSync('K', { service: 's' }), 'invalid')
    assert.ok(performance.now() - t0 < 1000, 'no network wait')
    r.close()
  })

  it('a closed remote handle throws invalid (closed)', async () => {
    const other = await env.another()
    other.close()
    assert.match(throwsWith(() => other.credentials.getSync('K', { service: 's' }), 'invalid').message, /closed/)
  })
})
