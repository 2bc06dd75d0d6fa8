// `v.constructs`, run against both modes (embedded and a real vault-http server): capsule,
// identity files, transcript paging, listing, export/import, bad input, and that content never
// shows in an error.

import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import fs from 'node:fs'
import { after, before, describe, it } from 'node:test'
import util from 'node:util'

import { KEY, RFC3339, rejectsWith, setupMode, vault } from './helpers.mjs'

const TEN_MIB = 10 * 1024 * 1024

for (const mode of ['embedded', 'remote']) {
  describe(`constructs, ${mode} mode`, () => {
    let env
    let v
    before(async () => {
      env = await setupMode(mode)
      v = env.vault
    })
    after(async () => {
      await env?.teardown()
    })

    it('capsule, files and transcript round-trip with their shapes', async () => {
      const c = v.constructs
      const w = await c.putCapsule('nova', { name: 'Nova', traits: ['warm', 1.5, null] })
      assert.deepEqual(w, { constructId: 'nova', action: 'created', version: 1 })
      assert.equal((await c.putCapsule('nova', { name: 'Nova 2' }, { expectedVersion: 1 })).version, 2)
      await rejectsWith(assert, c.putCapsule('nova', {}, { expectedVersion: 1 }), 'conflict')
      const cap = await c.getCapsule('nova')
      assert.deepEqual(Object.keys(cap).sort(), ['capsule', 'constructId', 'createdAt', 'updatedAt', 'version'])
      assert.deepEqual(cap.capsule, { name: 'Nova 2' })
      assert.match(cap.updatedAt, RFC3339)
      assert.deepEqual((await c.getCapsule('nova', { version: 1 })).capsule.traits, ['warm', 1.5, null])

      const bytes = Buffer.from([0, 1, 2, 250, 255])
      const fw = await c.putFile('nova', 'voice.bin', bytes)
      assert.equal(fw.sha256, createHash('sha256').update(bytes).digest('hex'))
      assert.deepEqual([fw.action, fw.version, fw.size], ['created', 1, 5])
      await c.putFile('nova', 'voice.bin', new Uint8Array([9]), { expectedVersion: 1 })
      const f = await c.getFile('nova', 'voice.bin', { version: 1 })
      assert.ok(Buffer.isBuffer(f.content))
      assert.deepEqual(f.content, bytes)
      assert.equal(f.sha256, fw.sha256)
      const files = await c.listFiles('nova')
      assert.deepEqual(files.map((x) => [x.name, x.version]), [['voice.bin', 2]])
      assert.equal(files.next, undefined)
      assert.equal(files[0].content ?? undefined, undefined)
      assert.equal(await c.deleteFile('nova', 'voice.bin'), undefined)
      await rejectsWith(assert, c.getFile('nova', 'voice.bin'), 'not_found')

      for (let i = 1; i <= 5; i++) {
        const a = await c.append('nova', { role: i % 2 ? 'user' : 'assistant', content: `m${i}` })
        assert.equal(a.seq, i)
      }
      const dated = await c.append('nova', { role: 'system', content: 'x', timestamp: new Date(Date.UTC(2026, 0, 2)) })
      assert.equal(dated.timestamp, '2026-01-02T00:00:00.000Z')
      const page = await c.transcript('nova', { limit: 4 })
      assert.deepEqual(page.entries.map((e) => e.seq), [6, 5, 4, 3])
      assert.deepEqual([page.next, page.total], [3, 6])
      const rest = await c.transcript('nova', { limit: 4, after: page.next })
      assert.deepEqual(rest.entries.map((e) => e.seq), [2, 1])
      assert.equal(rest.next, undefined)
      const oldest = await c.transcript('nova', { order: 'oldest', limit: 1 })
      assert.deepEqual(oldest.entries[0], { seq: 1, role: 'user', content: 'm1', timestamp: oldest.entries[0].timestamp })

      const listed = await c.list()
      assert.deepEqual(listed.map((s) => [s.constructId, s.capsuleVersion, s.fileCount, s.transcriptCount]), [
        ['nova', 2, 0, 6],
      ])
    })

    it('bad input is invalid naming the field', async () => {
      const c = v.constructs
      await c.append('bad', { role: 'user', content: 'hi' })
      const cases = [
        [() => c.getCapsule('..'), 'construct_id'],
        [() => c.putFile('bad', '../etc', Buffer.from('x')), 'file_name'],
        [() => c.putFile('bad', 'big.bin', Buffer.alloc(TEN_MIB + 1)), 'file'],
        [() => c.putFile('bad', 'f', 'text'), 'content'],
        [() => c.putCapsule('bad', ['not', 'an', 'object']), 'capsule'],
        [() => c.append('bad', { role: 'no spaces', content: 'x' }), 'role'],
        [() => c.append('bad', { role: 'user' }), 'content'],
        [() => c.append('bad', { role: 'user', content: 'x', seq: 3 }), 'entry'],
        [() => c.append('bad', { role: 'user', content: 'x'.repeat(64 * 1024 + 1) }), 'content'],
        [() => c.transcript('bad', { order: 'sideways' }), 'order'],
        [() => c.transcript('bad', { limit: 0 }), 'limit'],
        [() => c.transcript('bad', { limit: 1001 }), 'limit'],
        [() => c.transcript('bad', { limit: 1.5 }), 'limit'],
        [() => c.list({ limit: 0 }), 'limit'],
        [() => c.import({ format: 'x' }), 'document'],
      ]
      // Thunks: each call starts only when its rejection is awaited.
      for (const [fn, field] of cases) {
        const err = await rejectsWith(assert, fn(), 'invalid')
        assert.equal(err.field, field, err.message)
      }
      assert.equal((await c.putFile('bad', 'big.bin', Buffer.alloc(TEN_MIB, 1))).size, TEN_MIB)
    })

    it('exports a construct and imports it into another vault; a second import conflicts', async () => {
      const c = v.constructs
      await c.putCapsule('moved', { name: 'Moved' })
      await c.putFile('moved', 'persona.md', Buffer.from('# Moved'))
      await c.append('moved', { role: 'user', content: 'hello' })
      const doc = await c.export('moved')
      assert.equal(doc.format, 'vault.construct.v1')
      const other = await env.another()
      try {
        if (mode === 'remote') {
          // The same server already has it.
          const err = await rejectsWith(assert, other.constructs.import(doc), 'conflict')
          assert.match(err.message, /'moved'/)
          const renamed = { ...doc, construct_id: 'moved2' }
          const r = await other.constructs.import(renamed)
          assert.deepEqual(r, { constructId: 'moved2', capsuleVersion: 1, files: 1, transcriptEntries: 1 })
        } else {
          const r = await other.constructs.import(doc)
          assert.deepEqual(r, { constructId: 'moved', capsuleVersion: 1, files: 1, transcriptEntries: 1 })
          const f = await other.constructs.getFile('moved', 'persona.md')
          assert.equal(f.content.toString(), '# Moved')
          await rejectsWith(assert, other.constructs.import(doc), 'conflict')
        }
        const tampered = { ...doc, construct_id: 'tampered', files: [{ ...doc.files[0], sha256: '0'.repeat(64) }] }
        const err = await rejectsWith(assert, other.constructs.import(tampered), 'invalid')
        assert.equal(err.field, 'files[0].sha256')
      } finally {
        other.close()
      }
    })

    it('content never shows in an error or in the data directory', async () => {
      const planted = 'planted-node-construct-77e1'
      const c = v.constructs
      await c.putCapsule('secret', { s: planted })
      await c.putFile('secret', 'k.txt', Buffer.from(planted))
      await c.append('secret', { role: 'user', content: planted })
      const err = await rejectsWith(assert, c.putCapsule('secret', { s: planted }, { expectedVersion: 9 }), 'conflict')
      assert.ok(!util.inspect(err).includes(planted))
      const dir = mode === 'embedded' ? env.dir : env.server.dataDir
      for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
        if (!entry.isFile()) continue
        const p = `${entry.parentPath ?? entry.path}/${entry.name}`
        assert.ok(!fs.readFileSync(p).includes(planted), `planted content in ${p}`)
      }
    })
    // Last: in embedded mode it closes `v` to reopen the directory with the token.
    it('a token scoped to one construct cannot read another', async () => {
      const c = v.constructs
      for (const id of ['alpha', 'beta']) {
        await c.putCapsule(id, { who: id })
        await c.append(id, { role: 'user', content: 'hi' })
      }
      const t = await v.tokens.create('alpha-only', [
        { path: 'constructs/alpha/**', capabilities: ['read', 'write', 'list'] },
      ])
      let scoped
      if (mode === 'embedded') {
        v.close()
        scoped = await vault.open(env.dir, { encryptionKey: KEY, token: t.token })
      } else {
        scoped = await env.another({ token: t.token })
      }
      try {
        assert.deepEqual((await scoped.constructs.getCapsule('alpha')).capsule, { who: 'alpha' })
        await rejectsWith(assert, scoped.constructs.getCapsule('beta'), 'forbidden')
        await rejectsWith(assert, scoped.constructs.transcript('beta'), 'forbidden')
        await rejectsWith(assert, scoped.constructs.export('beta'), 'forbidden')
        const listed = await scoped.constructs.list()
        assert.deepEqual(listed.map((s) => s.constructId), ['alpha'])
      } finally {
        scoped.close()
      }
    })
  })
}
