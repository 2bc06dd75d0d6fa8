// Remote fallback: the server stops mid-test; configs come back from the last-known-good cache
// with `stale: true` (in memory, and from the encrypted cacheFile in a new process's client);
// credentials are never cached and reject with `unavailable`.

import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { SECRET, TOKEN, rejectsWith, startServer, tmpDir, vault } from './helpers.mjs'

describe('remote fallback when the server goes away', () => {
  let server
  let v
  let cacheFile
  let before1
  let before2
  const scratch = tmpDir('vault-node-cache-')

  before(async () => {
    server = await startServer()
    cacheFile = path.join(scratch, 'configs.cache')
    v = await vault.connect(server.url, { token: TOKEN, cacheFile, timeoutMs: 3000 })
    await v.configs.put('fxshinobi', 'default', { params: { fast: 12 }, symbols: ['EUR_USD'] })
    await v.configs.put('fxshinobi', 'default', { params: { fast: 13 }, symbols: ['EUR_USD'] })
    await v.configs.put('fxshinobi', 'scalper', { enabled: false, riskLimits: { maxLoss: 50 } })
    await v.credentials.put('OANDA_API_KEY', SECRET, { service: 'fxshinobi' })
    // reads fill the cache
    before1 = await v.configs.list('fxshinobi')
    before2 = await v.configs.get('fxshinobi', 'default', { version: 1 })
    assert.ok(before1.every((c) => c.stale === false))
    assert.equal((await v.credentials.get('OANDA_API_KEY', { service: 'fxshinobi' })).value, SECRET)
    assert.equal((await v.configs.history('fxshinobi', 'default')).versions.length, 2)
    await server.stop()
  })

  after(async () => {
    v?.close()
    await server?.stop()
    fs.rmSync(scratch, { recursive: true, force: true })
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true })
  })

  it('configs.list returns the same configs with stale: true', async () => {
    const now = await v.configs.list('fxshinobi')
    assert.equal(now.length, 2)
    assert.deepEqual(
      now.map((c) => ({ ...c, stale: undefined })),
      before1.map((c) => ({ ...c, stale: undefined })),
    )
    assert.ok(now.every((c) => c.stale === true))
  })

  it('configs.get (latest and a version read before) is served stale', async () => {
    const latest = await v.configs.get('fxshinobi', 'default')
    assert.equal(latest.stale, true)
    assert.equal(latest.version, 2)
    assert.deepEqual(latest.params, { fast: 13 })
    const pinned = await v.configs.get('fxshinobi', 'default', { version: 1 })
    assert.deepEqual({ ...pinned, stale: false }, before2)
    assert.equal(pinned.stale, true)
  })

  it('a service never read has nothing cached: unavailable', async () => {
    await rejectsWith(assert, v.configs.list('never-read'), 'unavailable')
  })

  it('credentials are not cached: get rejects with unavailable', async () => {
    const e = await rejectsWith(assert, v.credentials.get('OANDA_API_KEY', { service: 'fxshinobi' }), 'unavailable')
    assert.ok(!e.message.includes(TOKEN))
    await rejectsWith(assert, v.credentials.list('fxshinobi'), 'unavailable')
  })

  it('configs.history (read before) is not served from the cache: unavailable', async () => {
    await rejectsWith(assert, v.configs.history('fxshinobi', 'default'), 'unavailable')
  })

  it('writes and health reject with unavailable', async () => {
    await rejectsWith(assert, v.configs.put('fxshinobi', 'default', { enabled: false }), 'unavailable')
    await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 'fxshinobi' }), 'unavailable')
    await rejectsWith(assert, v.health(), 'unavailable')
  })

  it('a new client with the same cacheFile starts from the cache (encrypted on disk)', async () => {
    const raw = fs.readFileSync(cacheFile)
    assert.ok(!raw.includes('EUR_USD'), 'cache file is not plaintext')
    assert.ok(!raw.includes(SECRET), 'no credential in the cache file')
    const fresh = await vault.connect(server.url, { token: TOKEN, cacheFile, timeoutMs: 3000 })
    const list = await fresh.configs.list('fxshinobi')
    assert.deepEqual(
      list.map((c) => [c.strategyId, c.version, c.stale]),
      [
        ['default', 2, true],
        ['scalper', 1, true],
      ],
    )
    // the cache key comes from the token: another token cannot read it
    const other = await vault.connect(server.url, { token: 'another-token', cacheFile, timeoutMs: 3000 })
    await rejectsWith(assert, other.configs.list('fxshinobi'), 'unavailable')
  })
})
