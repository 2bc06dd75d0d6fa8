// The credential lifecycle, against both modes: versions, version N, soft delete / undelete /
// destroy, rotation, settings, the due listing and health, and bad input naming the field.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import util from 'node:util'

import { RFC3339, SECRET, setupMode } from './helpers.mjs'

const S = { service: 'svc' }

/** The `field` of the `invalid` error `p` rejects with. */
async function field(p) {
  try {
    await p
  } catch (err) {
    assert.equal(err.code, 'invalid', err.message)
    return err.field
  }
  assert.fail('expected a rejection')
}

for (const mode of ['embedded', 'remote']) {
  describe(`${mode} mode: credential lifecycle`, () => {
    let env
    let v
    before(async () => {
      env = await setupMode(mode)
      v = env.vault
      for (const i of [1, 2, 3]) await v.credentials.put('K', `${SECRET}-${i}`, S)
    })
    after(async () => {
      await env?.teardown()
    })

    it('lists versions (never values) and reads version N', async () => {
      const page = await v.credentials.versions('K', S)
      assert.deepEqual(
        [page.currentVersion, page.oldestVersion, page.maxVersions],
        [3, 1, 10],
      )
      assert.deepEqual(page.versions.map((x) => x.version), [3, 2, 1])
      assert.equal(page.versions[0].state, 'active')
      assert.match(page.versions[0].createdAt, RFC3339)
      assert.ok(!JSON.stringify(page).includes(SECRET))
      const first = await v.credentials.versions('K', { ...S, limit: 2 })
      assert.equal(first.next, 2)
      assert.deepEqual((await v.credentials.versions('K', { ...S, after: 2 })).versions.map((x) => x.version), [1])
      const v1 = await v.credentials.get('K', { ...S, version: 1 })
      assert.equal(v1.value, `${SECRET}-1`)
      assert.ok(!util.inspect(v1).includes(SECRET))
    })

    it('soft-deletes, undeletes and destroys a version', async () => {
      const d = await v.credentials.deleteVersion('K', 1, S)
      assert.deepEqual([d.version, d.state], [1, 'deleted'])
      await assert.rejects(v.credentials.get('K', { ...S, version: 1 }), (err) => {
        assert.equal(err.code, 'not_found')
        assert.match(err.message, /deleted/)
        assert.ok(!err.message.includes(SECRET))
        return true
      })
      assert.equal((await v.credentials.undeleteVersion('K', 1, S)).state, 'active')
      assert.equal((await v.credentials.get('K', { ...S, version: 1 })).version, 1)
      assert.equal((await v.credentials.destroyVersion('K', 1, S)).state, 'destroyed')
      await assert.rejects(v.credentials.get('K', { ...S, version: 1 }), { code: 'not_found' })
      await assert.rejects(v.credentials.undeleteVersion('K', 1, S), { code: 'not_found' })
    })

    it('rotates to a generated value and changes settings', async () => {
      const w = await v.credentials.rotate('K', { ...S, length: 20, charset: 'hex' })
      assert.deepEqual([w.action, w.version], ['updated', 4])
      assert.equal(w.value, undefined)
      const c = await v.credentials.get('K', S)
      assert.match(c.value, /^[0-9a-f]{20}$/)
      const info = await v.credentials.setSettings('K', { ...S, maxVersions: 2, rotateEvery: '30d' })
      assert.deepEqual([info.maxVersions, info.oldestVersion, info.rotateEvery, info.due], [2, 3, '30d', false])
      assert.match(info.dueAt, RFC3339)
      const [listed] = await v.credentials.list('svc')
      assert.equal(listed.rotateEvery, '30d')
      assert.deepEqual([...(await v.credentials.due('svc'))], [])
      assert.equal((await v.health()).overdueCredentials, 0)
    })

    it('bad input is invalid naming the field and changes nothing', async () => {
      const before = JSON.stringify(await v.credentials.versions('K', S))
      assert.equal(await field(v.credentials.get('K', { ...S, version: 0 })), 'version')
      assert.equal(await field(v.credentials.destroyVersion('K', 0, S)), 'version')
      assert.equal(await field(v.credentials.destroyVersion('K', -1, S)), 'version')
      assert.equal(await field(v.credentials.deleteVersion('K', 1, {})), 'service')
      assert.equal(await field(v.credentials.rotate('K', { ...S, charset: 'emoji' })), 'charset')
      assert.equal(await field(v.credentials.rotate('K', { ...S, length: 7 })), 'length')
      assert.equal(await field(v.credentials.setSettings('K', { ...S, maxVersions: 0 })), 'max_versions')
      assert.equal(await field(v.credentials.setSettings('K', { ...S, rotateEvery: '1y' })), 'rotate_every')
      assert.equal(await field(v.credentials.setSettings('K', { ...S, rotateEvery: '9'.repeat(40) })), 'rotate_every')
      assert.equal(await field(v.credentials.put('K', 'x', { ...S, rotateEvery: 'soon' })), 'rotate_every')
      assert.equal(await field(v.credentials.versions('K', { ...S, limit: 0 })), 'limit')
      assert.equal(JSON.stringify(await v.credentials.versions('K', S)), before)
    })
  })
}
