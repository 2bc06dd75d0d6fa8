// The audit log through the package: `v.audit.query(...)` and `v.audit.verify()` in both modes,
// `close()` committing an embedded vault's queued entries, and the policy matrix (each
// capability x a token whose glob matches / does not match the resource).
//
// Embedded, sled allows one opener of a directory per process, so `asToken` / `asRoot` close
// the vault under test and open it again as the other caller: those reopens rely on `close()`
// committing the entries still queued.

import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import util from 'node:util'
import { afterEach, beforeEach, describe, it } from 'node:test'

import { KEY, RFC3339, TOKEN, rejectsWith, startServer, tmpDir, vault } from './helpers.mjs'

const SVC = 'fxshinobi'
const NAME = 'OANDA_API_KEY'
const HEX64 = /^[0-9a-f]{64}$/
const ENTRY_FIELDS = [
  'seq',
  'writer',
  'time',
  'requestId',
  'actorId',
  'actorName',
  'op',
  'path',
  'outcome',
  'client',
  'prev',
  'hash',
]

/** A random secret value, easy to search for. */
const freshSecret = () => `s3cr3t-${crypto.randomBytes(12).toString('hex')}`
/** What the vault stores of a token: its SHA-256, hex. */
const hashOf = (token) => crypto.createHash('sha256').update(token).digest('hex')

/** Every entry matching `filters`, newest first, following `next` to the end. */
async function allEntries(v, filters = {}) {
  const out = []
  let after
  for (;;) {
    const page = await v.audit.query({ ...filters, limit: 1000, after })
    out.push(...page)
    after = page.next
    if (after === undefined) return out
  }
}

/** The entries of the operations under test: without the audit's own reads. */
const operations = (entries) => entries.filter((e) => !e.op.startsWith('audit.'))

/** Asserts `promise` rejects with `code` and none of `planted` in its message or stack. */
async function refused(promise, code, ...planted) {
  const err = await rejectsWith(assert, promise, code)
  for (const p of planted) {
    assert.ok(!err.message.includes(p), `${p} leaked into: ${err.message}`)
    assert.ok(!String(err.stack).includes(p), `${p} leaked into the stack`)
  }
  return err
}

/** `forbidden` naming the capability and the path. */
async function forbidden(promise, capability, resource, ...planted) {
  const err = await refused(promise, 'forbidden', ...planted)
  assert.ok(err.message.includes(`may not ${capability} ${resource}`), err.message)
  return err
}

// ---- the policy matrix: each capability x a glob that matches the resource or does not ----

const CAPABILITIES = ['read', 'write', 'delete', 'list']
const MATRIX = 'MATRIX_KEY'
// Reading, writing or deleting the key needs the capability on its path; listing the service's
// credentials needs `list` on a path under that service (so the miss is another service).
const GLOBS = {
  read: [`credentials/${SVC}/MATRIX_*`, `credentials/${SVC}/OTHER_*`],
  write: [`credentials/${SVC}/MATRIX_*`, `credentials/${SVC}/OTHER_*`],
  delete: [`credentials/${SVC}/MATRIX_*`, `credentials/${SVC}/OTHER_*`],
  list: [`credentials/${SVC}/*`, 'credentials/othersvc/*'],
}
const PATHS = {
  read: `credentials/${SVC}/${MATRIX}`,
  write: `credentials/${SVC}/${MATRIX}`,
  delete: `credentials/${SVC}/${MATRIX}`,
  list: `credentials/${SVC}/*`,
}

/** The call that needs `capability` on the matrix credential (or its service), made now. */
function callWith(v, capability) {
  switch (capability) {
    case 'read':
      return v.credentials.get(MATRIX, { service: SVC })
    case 'write':
      return v.credentials.put(MATRIX, 'rewritten', { service: SVC })
    case 'delete':
      return v.credentials.delete(MATRIX, { service: SVC })
    default:
      return v.credentials.list(SVC)
  }
}

for (const mode of ['embedded', 'remote']) {
  describe(`audit, ${mode} mode`, () => {
    let server
    let dir
    let v // the vault under test as its current caller
    const opened = []
    const me = mode === 'remote' ? 'root' : 'embedded'

    /** The vault under test as its trusted caller (remote: the service token). */
    async function asRoot() {
      if (mode === 'embedded') {
        v.close()
        v = await vault.open(dir, { encryptionKey: KEY })
      }
      return v
    }

    /** The vault under test seen through `token`. */
    async function asToken(token) {
      if (mode === 'remote') {
        const c = await vault.connect(server.url, { token, timeoutMs: 5000 })
        opened.push(c)
        return c
      }
      v.close()
      v = await vault.open(dir, { encryptionKey: KEY, token })
      return v
    }

    beforeEach(async () => {
      if (mode === 'remote') {
        server = await startServer()
        v = await vault.connect(server.url, { token: TOKEN, timeoutMs: 5000 })
      } else {
        dir = tmpDir()
        v = await vault.open(dir, { encryptionKey: KEY })
      }
    })
    afterEach(async () => {
      v.close()
      for (const c of opened.splice(0)) c.close()
      if (server) {
        await server.stop()
        fs.rmSync(server.dataDir, { recursive: true, force: true })
        server = undefined
      }
      if (dir) fs.rmSync(dir, { recursive: true, force: true })
    })

    it('each operation has one entry with its actor and outcome, and never a value or a token', async () => {
      const secret = freshSecret()
      const resource = `credentials/${SVC}/${NAME}`
      await v.credentials.put(NAME, secret, { service: SVC })
      assert.equal((await v.credentials.get(NAME, { service: SVC })).value, secret)
      const reader = await v.tokens.create('reader', [{ path: `credentials/${SVC}/OTHER_*`, capabilities: ['read'] }])
      const r = await asToken(reader.token)
      await forbidden(r.credentials.get(NAME, { service: SVC }), 'read', resource, reader.token, secret)
      r.close()
      const bogus = `vault_sk_${'Z'.repeat(48)}`
      await refused(
        (async () => (await asToken(bogus)).credentials.get(NAME, { service: SVC }))(),
        'unauthorized',
        bogus,
      )

      const root = await asRoot()
      let everything = await allEntries(root)
      const entries = operations(everything)
      const tuple = (e) => [e.op, e.actorId, e.actorName, e.outcome, e.path].join(' ')
      assert.deepEqual(
        entries.map(tuple).sort(),
        [
          ['credentials.put', me, me, 'ok', resource],
          ['credentials.get', me, me, 'ok', resource],
          ['tokens.create', me, me, 'ok', `tokens/${reader.id}`],
          ['credentials.get', reader.id, 'reader', 'forbidden', resource],
          ['auth', 'anonymous', '', 'unauthorized', 'auth'],
        ]
          .map((t) => t.join(' '))
          .sort(),
      )
      // newest first: the failed authentication is the newest of them, the put the oldest
      assert.equal(entries[0].op, 'auth')
      assert.equal(entries.at(-1).op, 'credentials.put')

      for (const e of everything) {
        assert.deepEqual(Object.keys(e), ENTRY_FIELDS)
        assert.ok(Number.isSafeInteger(e.seq) && e.seq >= 1, util.inspect(e))
        assert.ok(e.writer.length > 0)
        assert.match(e.hash, HEX64)
        assert.match(e.prev, HEX64)
        assert.match(e.time, RFC3339)
        if (mode === 'remote') {
          assert.equal(e.client, '127.0.0.1')
          assert.match(e.requestId, /^req_/)
        } else {
          assert.equal(e.client, 'embedded')
          assert.equal(e.requestId, null)
        }
      }
      // each writer's entries form a chain: prev is the hash of the entry before
      const byWriter = new Map()
      for (const e of everything) byWriter.set(e.writer, [...(byWriter.get(e.writer) ?? []), e])
      for (const chain of byWriter.values()) {
        chain.sort((a, b) => a.seq - b.seq)
        assert.equal(chain[0].seq, 1)
        assert.equal(chain[0].prev, '0'.repeat(64))
        for (let i = 1; i < chain.length; i++) {
          assert.equal(chain[i].seq, chain[i - 1].seq + 1)
          assert.equal(chain[i].prev, chain[i - 1].hash)
        }
      }

      // the actor filter takes the id or the name
      const byId = operations(await allEntries(root, { actor: reader.id }))
      const byName = operations(await allEntries(root, { actor: 'reader' }))
      assert.deepEqual(
        byId.map((e) => e.hash),
        byName.map((e) => e.hash),
      )
      assert.deepEqual(
        byId.map((e) => [e.op, e.outcome]),
        [['credentials.get', 'forbidden']],
      )

      // never a value, a token or a token's hash
      everything = await allEntries(root)
      const shown = JSON.stringify(everything) + util.inspect(everything, { depth: 5 })
      for (const planted of [secret, reader.token, hashOf(reader.token), bogus, TOKEN]) {
        assert.ok(!shown.includes(planted), planted)
      }

      const report = await root.audit.verify()
      assert.equal(report.valid, true)
      assert.equal(report.firstBad, null)
      assert.ok(report.entries >= everything.length)
      assert.deepEqual(Object.keys(report), ['valid', 'entries', 'firstBad'])
    })

    it('query filters and pages', async () => {
      for (let i = 0; i < 3; i++) {
        await v.credentials.put(`KEY_${i}`, freshSecret(), { service: SVC })
        await sleep(10) // distinct milliseconds, for the time filters
      }
      await v.configs.put(SVC, 'default', { params: { fast: 12 } })
      await v.credentials.get('KEY_0', { service: SVC })
      await rejectsWith(assert, v.credentials.get('MISSING', { service: SVC }), 'not_found')
      const puts = [2, 1, 0].map((i) => `credentials/${SVC}/KEY_${i}`)
      const paths = (page) => page.map((e) => e.path)

      const page = await v.audit.query({ op: 'credentials.put' })
      assert.ok(Array.isArray(page))
      assert.equal(page.next, undefined)
      assert.deepEqual(page.unreadable, [])
      assert.deepEqual(paths(page), puts)
      assert.deepEqual(new Set(page.map((e) => `${e.actorId} ${e.outcome}`)), new Set([`${me} ok`]))
      assert.deepEqual(
        (await v.audit.query({ outcome: 'not_found' })).map((e) => [e.op, e.path]),
        [['credentials.get', `credentials/${SVC}/MISSING`]],
      )
      assert.deepEqual(
        (await v.audit.query({ pathPrefix: `configs/${SVC}/` })).map((e) => e.op),
        ['configs.put'],
      )
      assert.deepEqual(
        (await v.audit.query({ op: 'credentials.get', pathPrefix: `credentials/${SVC}/K` })).map((e) => e.op),
        ['credentials.get'],
      )
      const mine = operations(await allEntries(v, { actor: me }))
      assert.equal(mine.length, 6)
      assert.deepEqual(new Set(mine.map((e) => e.actorId)), new Set([me]))
      assert.deepEqual([...(await v.audit.query({ actor: 'nobody' }))], [])

      // since (inclusive) and until (exclusive): RFC 3339 strings or Dates
      const middle = page[1].time
      for (const since of [middle, new Date(middle)]) {
        assert.deepEqual(paths(await v.audit.query({ op: 'credentials.put', since })), puts.slice(0, 2))
      }
      for (const until of [middle, new Date(middle)]) {
        assert.deepEqual(paths(await v.audit.query({ op: 'credentials.put', until })), puts.slice(2))
      }
      assert.deepEqual([...(await v.audit.query({ until: '2000-01-01T00:00:00Z' }))], [])
      const later = new Date(Date.now() + 3_600_000)
      assert.deepEqual([...(await v.audit.query({ op: 'credentials.put', since: later }))], [])

      // pages: limit, and next as the following page's after
      const first = await v.audit.query({ op: 'credentials.put', limit: 2 })
      assert.deepEqual(paths(first), puts.slice(0, 2))
      assert.equal(typeof first.next, 'string')
      const rest = await v.audit.query({ op: 'credentials.put', limit: 2, after: first.next })
      assert.deepEqual(paths(rest), puts.slice(2))
      assert.equal(rest.next, undefined)
      const oneByOne = []
      let after
      do {
        const p = await v.audit.query({ op: 'credentials.put', limit: 1, after })
        assert.ok(p.length <= 1)
        oneByOne.push(...paths(p))
        after = p.next
      } while (after !== undefined)
      assert.deepEqual(oneByOne, puts)

      // bad arguments name their field
      const field = async (opts) => (await rejectsWith(assert, v.audit.query(opts), 'invalid')).field
      assert.equal(await field({ limit: 0 }), 'limit')
      assert.equal(await field({ limit: 1001 }), 'limit')
      assert.equal(await field({ limit: 1.5 }), 'limit')
      assert.equal(await field({ after: 'not-a-cursor' }), 'after')
      assert.equal(await field({ since: 'yesterday' }), 'since')
      assert.equal(await field({ until: '2026-13-01T00:00:00Z' }), 'until')
      assert.equal(await field({ since: new Date('nonsense') }), 'since')
      assert.equal(await field({ since: 1_700_000_000_000 }), 'since')
      assert.equal(await field({ since: later, until: middle }), 'since')
      assert.equal(await field({ actor: 'x'.repeat(2000) }), 'actor')
      assert.equal(await field({ op: 7 }), 'op')
      assert.equal(await field({ path_prefix: 'credentials/' }), 'options')
      assert.equal(await field('credentials.put'), 'options')
    })

    it('reading the log needs read on audit', async () => {
      const secret = freshSecret()
      await v.credentials.put(NAME, secret, { service: SVC })
      const nosy = await v.tokens.create('nosy', [{ path: '**', capabilities: ['list', 'write', 'admin'] }])
      const auditor = await v.tokens.create('auditor', [{ path: 'audit', capabilities: ['read'] }])

      const n = await asToken(nosy.token)
      await forbidden(n.audit.query(), 'read', 'audit', nosy.token, secret)
      await forbidden(n.audit.verify(), 'read', 'audit', nosy.token, secret)
      n.close()

      const a = await asToken(auditor.token)
      const seen = new Set((await allEntries(a)).map((e) => `${e.op} ${e.actorId} ${e.outcome}`))
      assert.ok(seen.has(`audit.query ${nosy.id} forbidden`), [...seen].join('\n'))
      assert.ok(seen.has(`audit.verify ${nosy.id} forbidden`), [...seen].join('\n'))
      assert.deepEqual(
        (await a.audit.query({ op: 'credentials.put' })).map((e) => e.op),
        ['credentials.put'],
      )
      const report = await a.audit.verify()
      assert.equal(report.valid, true)
      assert.equal(report.firstBad, null)
      // the auditor reads the log, not the secrets
      await forbidden(a.credentials.get(NAME, { service: SVC }), 'read', `credentials/${SVC}/${NAME}`, secret)
      a.close()
      const root = await asRoot()
      assert.deepEqual(
        (await allEntries(root, { op: 'audit.verify', outcome: 'ok' })).map((e) => e.actorName),
        ['auditor'],
      )
    })

    it('audit of a closed vault rejects with invalid', async () => {
      const audit = v.audit
      v.close()
      for (const c of [() => audit.query(), () => audit.verify()]) {
        const err = await rejectsWith(assert, c(), 'invalid')
        assert.match(err.message, /closed/)
      }
    })

    it('policy matrix: each capability, a glob that matches and one that does not', async () => {
      const cases = CAPABILITIES.flatMap((cap) => [
        [cap, true],
        [cap, false],
      ])
      const created = new Map()
      for (const [cap, matches] of cases) {
        const t = await v.tokens.create(`${cap}-${matches ? 'hit' : 'miss'}`, [
          { path: GLOBS[cap][matches ? 0 : 1], capabilities: [cap] },
        ])
        created.set(`${cap} ${matches}`, t)
      }
      for (const [cap, matches] of cases) {
        const seeded = freshSecret()
        await (await asRoot()).credentials.put(MATRIX, seeded, { service: SVC })
        const { token } = created.get(`${cap} ${matches}`)
        const t = await asToken(token)
        for (const tried of CAPABILITIES) {
          if (tried === cap && matches) {
            const done = await callWith(t, tried)
            if (cap === 'read') assert.equal(done.value, seeded)
            else if (cap === 'write') assert.equal(done.action, 'updated')
            else if (cap === 'delete') assert.deepEqual(done, { service: SVC, key: MATRIX })
            else {
              // listed: but an item the token may not read is left out
              assert.deepEqual([...done], [])
              assert.equal(done.next, undefined)
            }
          } else {
            await forbidden(callWith(t, tried), tried, PATHS[tried], token, seeded)
          }
        }
        t.close()
        // what was refused did not happen
        const root = await asRoot()
        if (cap === 'delete' && matches) {
          await rejectsWith(assert, root.credentials.get(MATRIX, { service: SVC }), 'not_found')
        } else {
          const want = cap === 'write' && matches ? 'rewritten' : seeded
          assert.equal((await root.credentials.get(MATRIX, { service: SVC })).value, want)
        }
      }
      // each refusal and each success is in the log under its token
      const entries = operations(await allEntries(await asRoot()))
      for (const [key, t] of created) {
        const outcomes = entries.filter((e) => e.actorId === t.id).map((e) => e.outcome).sort()
        const want = key.endsWith('true') ? ['forbidden', 'forbidden', 'forbidden', 'ok'] : Array(4).fill('forbidden')
        assert.deepEqual(outcomes, want, key)
      }
    })
  })
}

describe('close', () => {
  it('of an embedded vault commits the queued audit entries and frees the directory at once', async () => {
    // A read's entry waits up to 100 ms for the flusher; close() commits it and stops the
    // flusher, so reopening at once neither finds the directory in use nor misses an entry.
    const base = tmpDir()
    const dir = path.join(base, 'data')
    try {
      const secret = freshSecret()
      let v = await vault.open(dir, { encryptionKey: KEY })
      await v.credentials.put(NAME, secret, { service: SVC })
      v.close()
      const rounds = 20
      for (let i = 0; i < rounds; i++) {
        v = await vault.open(dir, { encryptionKey: KEY })
        assert.equal((await v.credentials.get(NAME, { service: SVC })).value, secret)
        v.close()
        assert.equal(v.closed, true)
        v.close() // twice: nothing more
      }
      // the synchronous read too
      v = await vault.open(dir, { encryptionKey: KEY })
      assert.equal(v.credentials.getSync(NAME, { service: SVC }).value, secret)
      v.close()
      v = await vault.open(dir, { encryptionKey: KEY })
      const gets = await allEntries(v, { op: 'credentials.get' })
      assert.equal(gets.length, rounds + 1)
      assert.deepEqual(new Set(gets.map((e) => `${e.actorId} ${e.outcome} ${e.client}`)), new Set(['embedded ok embedded']))
      assert.equal(new Set(gets.map((e) => e.writer)).size, rounds + 1) // one opened vault each
      assert.equal((await v.audit.verify()).valid, true)
      v.close()
    } finally {
      fs.rmSync(base, { recursive: true, force: true })
    }
  })

  it('of an embedded vault lets the calls in flight finish and keeps their entries', async () => {
    // A verify() running when close() is called: close waits for it, so its entry, queued when
    // it finishes, is committed (not dropped with the vault).
    const base = tmpDir()
    const dir = path.join(base, 'data')
    try {
      let v = await vault.open(dir, { encryptionKey: KEY })
      await v.credentials.put(NAME, 'x', { service: SVC })
      for (let i = 0; i < 6; i++) {
        // a log long enough that verify() takes a while
        await Promise.all(Array.from({ length: 500 }, () => v.credentials.get(NAME, { service: SVC })))
      }
      const verifies = async () => (await allEntries(v, { op: 'audit.verify' })).length
      const before = await verifies()
      const running = v.audit.verify()
      await sleep(10) // under way (it takes ~100 ms here)
      v.close()
      const report = await running
      assert.equal(report.valid, true)
      v = await vault.open(dir, { encryptionKey: KEY })
      assert.equal(await verifies(), before + 1)
      v.close()
    } finally {
      fs.rmSync(base, { recursive: true, force: true })
    }
  })

  it('of a remote vault does nothing more than close the client', async () => {
    const server = await startServer()
    try {
      const v = await vault.connect(server.url, { token: TOKEN })
      await v.credentials.put(NAME, 'x', { service: SVC })
      assert.equal(v.close(), undefined)
      assert.equal(v.closed, true)
      v.close()
      await rejectsWith(assert, v.audit.query(), 'invalid')
      const again = await vault.connect(server.url, { token: TOKEN })
      assert.equal((await again.audit.query({ op: 'credentials.put' })).length, 1)
      again.close()
    } finally {
      await server.stop()
      fs.rmSync(server.dataDir, { recursive: true, force: true })
    }
  })
})
