// Bounded answers, both modes: listings are pages (an array with non-enumerable `next` and
// `unreadable`), config versions are capped per service (history says where it starts),
// documents nest at most 32 levels, and the remote fallback cache has a maximum age.

import assert from 'node:assert/strict'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'

import { TOKEN, rejectsWith, setupMode, startServer, tmpDir, vault } from './helpers.mjs'

/** `{ a: [[...1...]] }`: an object nested `levels` deep (itself level 1). */
function nested(levels) {
  let v = 1
  for (let i = 1; i < levels; i++) v = [v]
  return { a: v }
}

for (const mode of ['embedded', 'remote']) {
  describe(`${mode} mode: bounds`, () => {
    let env
    let v
    before(async () => {
      env = await setupMode(mode)
      v = env.vault
    })
    after(async () => {
      await env?.teardown()
    })

    it('lists are pages: limit, after, next', async () => {
      for (const k of ['A', 'B', 'C']) {
        await v.credentials.put(k, 'v', { service: 'pg' })
        await v.configs.put('pg', k)
      }
      const page = await v.credentials.list('pg', { limit: 2 })
      assert.ok(Array.isArray(page))
      assert.deepEqual(
        page.map((c) => c.key),
        ['A', 'B'],
      )
      assert.equal(page.next, 'B')
      assert.deepEqual(page.unreadable, [])
      assert.deepEqual(Object.keys(page), ['0', '1'])
      const rest = await v.credentials.list('pg', { limit: 2, after: page.next })
      assert.deepEqual(
        rest.map((c) => c.key),
        ['C'],
      )
      assert.equal(rest.next, undefined)
      const configs = await v.configs.list('pg', { limit: 1, after: 'A' })
      assert.deepEqual(
        configs.map((c) => c.strategyId),
        ['B'],
      )
      assert.equal(configs.next, 'B')
      assert.equal((await v.configs.list('pg')).length, 3)
      await rejectsWith(assert, v.credentials.list('pg', { limit: 0 }), 'invalid')
      await rejectsWith(assert, v.configs.list('pg', { limit: 1001 }), 'invalid')
      await rejectsWith(assert, v.configs.list('pg', { after: '../x' }), 'invalid')
      await rejectsWith(assert, v.configs.list('pg', { limt: 1 }), 'invalid')
    })

    it('config versions are capped per service', async () => {
      assert.deepEqual(await v.configs.settings('cap'), { maxVersions: 1000 })
      assert.deepEqual(await v.configs.setSettings('cap', { maxVersions: 3 }), { maxVersions: 3 })
      for (let n = 1; n <= 7; n++) await v.configs.put('cap', 'x', { params: { n } })
      const h = await v.configs.history('cap', 'x')
      assert.deepEqual(
        h.versions.map((c) => c.version),
        [7, 6, 5],
      )
      assert.equal(h.oldestVersion, 5)
      const e = await rejectsWith(assert, v.configs.get('cap', 'x', { version: 2 }), 'not_found')
      assert.match(e.message, /pruned/)
      await rejectsWith(assert, v.configs.setSettings('cap', { maxVersions: 0 }), 'invalid')
      await rejectsWith(assert, v.configs.setSettings('cap', {}), 'invalid')
    })

    it('documents nest at most 32 levels', async () => {
      const e = await rejectsWith(assert, v.configs.put('deep', 'x', { params: nested(33) }), 'invalid')
      assert.equal(e.message, 'invalid params: must be nested at most 32 levels deep')
      await rejectsWith(assert, v.credentials.put('K', 'v', { service: 'deep', metadata: nested(33) }), 'invalid')
      await v.configs.put('deep', 'x', { riskLimits: nested(32) })
    })
  })
}

describe('remote fallback cache: maximum age', () => {
  const scratch = tmpDir('vault-node-age-')
  after(() => fs.rmSync(scratch, { recursive: true, force: true }))

  it('does not serve a copy older than cacheMaxAgeMs', async () => {
    const server = await startServer()
    const cacheFile = path.join(scratch, 'configs.cache')
    const writer = await vault.connect(server.url, { token: TOKEN, cacheFile, cacheMaxAgeMs: Infinity })
    await writer.configs.put('s', 'x', { enabled: true })
    assert.equal((await writer.configs.get('s', 'x')).enabled, true)
    const other = await vault.connect(server.url, { token: TOKEN })
    await other.configs.put('s', 'x', { enabled: false })
    await server.stop()
    await new Promise((r) => setTimeout(r, 300))

    const aged = await vault.connect(server.url, { token: TOKEN, cacheFile, cacheMaxAgeMs: 200 })
    await rejectsWith(assert, aged.configs.get('s', 'x'), 'unavailable')
    for (const cacheMaxAgeMs of [undefined, Infinity]) {
      const c = await vault.connect(server.url, { token: TOKEN, cacheFile, cacheMaxAgeMs })
      const got = await c.configs.get('s', 'x')
      assert.equal(got.stale, true)
      assert.equal(got.enabled, true)
    }
    await rejectsWith(assert, vault.connect(server.url, { token: TOKEN, cacheMaxAgeMs: -1 }), 'invalid')
  })
})
