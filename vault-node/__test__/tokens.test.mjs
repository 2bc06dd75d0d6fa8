// Tokens with scoped policies: `v.tokens.create/list/revoke/self`, and a vault seen through a
// token (remote: `connect(url, { token })`; embedded: `open(dir, { token })`), in both modes.
//
// The example: a scanner token reads the read-only exchange key and nothing else; an
// executor token reads the trading key and the configs, and nothing else. A token string or a
// planted secret never shows in an error message, an inspected or serialized record, a listing
// or `self()`.
//
// Embedded, sled allows one opener of a directory per process, so `asToken` / `asRoot` close the
// vault under test and open it again as the other caller.

import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import fs from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, it } from 'node:test'
import util from 'node:util'

import { KEY, RFC3339, TOKEN, rejectsWith, startServer, tmpDir, vault } from './helpers.mjs'

const SVC = 'fxshinobi'
const READONLY = 'BITVAVO_READONLY_KEY'
const TRADE = 'BITVAVO_TRADE_KEY'
const ALL_CAPABILITIES = ['read', 'write', 'delete', 'list', 'admin', 'propose', 'execute', 'override', 'invoke']
const SCANNER = [{ path: `credentials/${SVC}/BITVAVO_READONLY_*`, capabilities: ['read'] }]
const EXECUTOR = [
  { path: `credentials/${SVC}/BITVAVO_TRADE_*`, capabilities: ['read'] },
  { path: `configs/${SVC}/*`, capabilities: ['read', 'list'] },
]

/** A random secret value, easy to search for in messages. */
const freshSecret = () => `s3cr3t-${crypto.randomBytes(12).toString('hex')}`
/** What the vault stores of a token: its SHA-256, hex. */
const hashOf = (token) => crypto.createHash('sha256').update(token).digest('hex')
const ms = (ts) => Date.parse(ts)

/** Asserts `promise` rejects with `code` and none of `planted` in its message or stack. */
async function refused(promise, code, ...planted) {
  const err = await rejectsWith(assert, promise, code)
  for (const p of planted) {
    assert.ok(!err.message.includes(p), `${p} leaked into: ${err.message}`)
    assert.ok(!String(err.stack).includes(p), `${p} leaked into the stack`)
  }
  return err
}

/** `forbidden` naming the capability and the path, never the token's rules. */
async function forbidden(promise, capability, path, ...planted) {
  const err = await refused(promise, 'forbidden', ...planted)
  assert.ok(err.message.includes(`may not ${capability} ${path}`), err.message)
  assert.ok(!err.message.includes('BITVAVO_READONLY_*') && !err.message.includes('BITVAVO_TRADE_*'), err.message)
  return err
}

/** The example's two keys (random values, returned) and one config, written as root. */
async function seed(v) {
  const readonly = freshSecret()
  const trade = freshSecret()
  await v.credentials.put(READONLY, readonly, { service: SVC })
  await v.credentials.put(TRADE, trade, { service: SVC })
  await v.configs.put(SVC, 'default', { params: { fast: 12 } })
  return { readonly, trade }
}

for (const mode of ['embedded', 'remote']) {
  describe(`tokens, ${mode} mode`, () => {
    let server
    let dir
    let v // the vault under test as its current caller
    const opened = []

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
    it('scanner and executor see only their own keys', async () => {
      const { readonly, trade } = await seed(v)
      const scanner = await v.tokens.create('scanner', SCANNER, { ttl: '30d' })
      const executor = await v.tokens.create('executor', EXECUTOR)
      for (const [t, name, rules] of [
        [scanner, 'scanner', SCANNER],
        [executor, 'executor', EXECUTOR],
      ]) {
        assert.ok(t instanceof vault.TokenCreated)
        assert.match(t.token, /^vault_sk_[A-Za-z0-9]{48}$/)
        assert.match(t.id, /^tok_[A-Za-z0-9]{12}$/)
        assert.equal(t.name, name)
        assert.deepEqual(t.rules, rules)
        assert.match(t.createdAt, RFC3339)
      }
      assert.equal(ms(scanner.expiresAt) - ms(scanner.createdAt), 30 * 86_400_000)
      assert.equal(executor.expiresAt, null)
      const tokens = [scanner.token, executor.token]

      // The scanner reads its key (with or without the service) and nothing else.
      let planted = [...tokens, trade]
      const s = await asToken(scanner.token)
      assert.equal((await s.credentials.get(READONLY, { service: SVC })).value, readonly)
      assert.equal((await s.credentials.get(READONLY)).value, readonly)
      await forbidden(s.credentials.get(TRADE, { service: SVC }), 'read', `credentials/${SVC}/${TRADE}`, ...planted)
      await refused(s.credentials.get(TRADE), 'forbidden', ...planted)
      for (const key of [READONLY, TRADE]) {
        const path = `credentials/${SVC}/${key}`
        await forbidden(s.credentials.put(key, 'overwritten', { service: SVC }), 'write', path, ...planted)
        await forbidden(s.credentials.delete(key, { service: SVC }), 'delete', path, ...planted)
      }
      await forbidden(s.credentials.list(SVC), 'list', `credentials/${SVC}/*`, ...planted)
      await forbidden(s.configs.list(SVC), 'list', `configs/${SVC}/*`, ...planted)
      await forbidden(s.configs.get(SVC, 'default'), 'read', `configs/${SVC}/default`, ...planted)
      await forbidden(s.configs.put(SVC, 'default', { enabled: false }), 'write', `configs/${SVC}/default`, ...planted)
      await forbidden(s.tokens.list(), 'admin', 'tokens/*', ...planted)
      await refused(s.tokens.create('child', SCANNER), 'forbidden', ...planted)
      await refused(s.tokens.revoke(executor.id), 'forbidden', ...planted)
      if (mode === 'embedded') {
        // the synchronous reads go through the same choke point
        assert.equal(s.credentials.getSync(READONLY, { service: SVC }).value, readonly)
        assert.throws(
          () => s.credentials.getSync(TRADE, { service: SVC }),
          (e) => e.code === 'forbidden' && !planted.some((p) => e.message.includes(p)),
        )
        assert.throws(() => s.configs.getSync(SVC, 'default'), (e) => e.code === 'forbidden')
      }

      // The executor: the mirror image.
      planted = [...tokens, readonly]
      const e = await asToken(executor.token)
      assert.equal((await e.credentials.get(TRADE, { service: SVC })).value, trade)
      await forbidden(e.credentials.get(READONLY, { service: SVC }), 'read', `credentials/${SVC}/${READONLY}`, ...planted)
      for (const key of [READONLY, TRADE]) {
        const path = `credentials/${SVC}/${key}`
        await forbidden(e.credentials.put(key, 'overwritten', { service: SVC }), 'write', path, ...planted)
        await forbidden(e.credentials.delete(key, { service: SVC }), 'delete', path, ...planted)
      }
      await forbidden(e.credentials.list(SVC), 'list', `credentials/${SVC}/*`, ...planted)
      assert.deepEqual(
        (await e.configs.list(SVC)).map((c) => c.strategyId),
        ['default'],
      )
      assert.deepEqual((await e.configs.get(SVC, 'default')).params, { fast: 12 })
      await forbidden(e.configs.put(SVC, 'default', { enabled: false }), 'write', `configs/${SVC}/default`, ...planted)
      await forbidden(e.tokens.list(), 'admin', 'tokens/*', ...planted)

      // Nothing the refused calls tried happened.
      const root = await asRoot()
      assert.equal((await root.credentials.get(READONLY, { service: SVC })).value, readonly)
      assert.equal((await root.credentials.get(TRADE, { service: SVC })).value, trade)
      assert.equal((await root.configs.get(SVC, 'default')).version, 1)
    })

    it('a created token prints, inspects and serializes as [REDACTED]', async () => {
      const t = await v.tokens.create('scanner', SCANNER, { ttlMs: 3_600_000 })
      const shown = [util.inspect(t), util.inspect([t], { depth: 5 }), JSON.stringify(t), JSON.stringify({ ...t }), String(t)]
      for (const s of shown) assert.ok(!s.includes(t.token), s)
      assert.match(util.inspect(t), /^TokenCreated \{/)
      assert.equal(JSON.parse(JSON.stringify(t)).token, '[REDACTED]')
      assert.equal({ ...t }.token, undefined)
      assert.equal(ms(t.expiresAt) - ms(t.createdAt), 3_600_000)
    })

    it('self shows the caller, list pages the tokens, neither shows a token or its hash', async () => {
      const me = await v.tokens.self()
      const rootId = mode === 'remote' ? 'root' : 'embedded'
      assert.deepEqual(me, {
        id: rootId,
        name: rootId,
        rules: [{ path: '**', capabilities: ALL_CAPABILITIES }],
        createdAt: null,
        expiresAt: null,
        lastUsedAt: null,
        revoked: false,
      })

      const created = []
      for (const name of ['one', 'two', 'three']) created.push(await v.tokens.create(name, SCANNER))
      const page = await v.tokens.list()
      const ids = created.map((c) => c.id).sort()
      assert.deepEqual(
        page.map((t) => t.id),
        ids,
      )
      assert.equal(page.next, undefined)
      assert.deepEqual(page.unreadable, [])
      for (const t of page) {
        const c = created.find((x) => x.id === t.id)
        assert.deepEqual(t, {
          id: c.id,
          name: c.name,
          rules: SCANNER,
          createdAt: c.createdAt,
          expiresAt: null,
          lastUsedAt: null,
          revoked: false,
        })
      }
      const first = await v.tokens.list({ limit: 2 })
      assert.equal(first.length, 2)
      assert.equal(first.next, first[1].id)
      const rest = await v.tokens.list({ limit: 2, after: first.next })
      assert.deepEqual([...first, ...rest].map((t) => t.id), ids)
      assert.equal(rest.next, undefined)
      const listed = JSON.stringify(page) + util.inspect(page, { depth: 10 })
      for (const c of created) {
        assert.ok(!listed.includes(c.token) && !listed.includes(hashOf(c.token)))
      }

      // A token looks at itself: id, name, rules; authenticating it marked it used.
      const s = await asToken(created[0].token)
      const self = await s.tokens.self()
      assert.equal(self.id, created[0].id)
      assert.equal(self.name, 'one')
      assert.deepEqual(self.rules, SCANNER)
      assert.equal(self.revoked, false)
      assert.equal(self.createdAt, created[0].createdAt)
      assert.match(self.lastUsedAt, RFC3339)
      assert.deepEqual(Object.keys(self).sort(), ['createdAt', 'expiresAt', 'id', 'lastUsedAt', 'name', 'revoked', 'rules'])
      const shown = JSON.stringify(self) + util.inspect(self)
      assert.ok(!shown.includes(created[0].token) && !shown.includes(hashOf(created[0].token)))

      const root = await asRoot()
      assert.deepEqual(await root.tokens.revoke(created[1].id), { id: created[1].id })
      assert.deepEqual(await root.tokens.revoke(created[1].id), { id: created[1].id }) // again: fine
      const after = await root.tokens.list()
      assert.deepEqual(
        after.filter((t) => t.revoked).map((t) => t.id),
        [created[1].id],
      )
    })

    it('a revoked token is refused from its next call', async () => {
      const { readonly } = await seed(v)
      const keeper = await v.tokens.create('keeper', [
        { path: 'tokens/*', capabilities: ['admin'] },
        { path: `credentials/${SVC}/${READONLY}`, capabilities: ['read'] },
      ])
      const scanner = await v.tokens.create('scanner', SCANNER)

      // Revoked by root. Remote: a client that already worked is refused from its next request.
      let s
      if (mode === 'remote') {
        s = await asToken(scanner.token)
        assert.equal((await s.credentials.get(READONLY, { service: SVC })).value, readonly)
      }
      await (await asRoot()).tokens.revoke(scanner.id)
      if (s) {
        const err = await refused(s.credentials.get(READONLY, { service: SVC }), 'unauthorized', scanner.token, readonly)
        assert.match(err.message, /revoked/)
        await refused(s.tokens.self(), 'unauthorized', scanner.token)
      }
      // A new handle with it: embedded, `open` itself refuses it; remote, its first call.
      const err = await refused(
        (async () => (await asToken(scanner.token)).credentials.get(READONLY, { service: SVC }))(),
        'unauthorized',
        scanner.token,
        readonly,
      )
      assert.match(err.message, /revoked/)

      // A handle opened with a token that is then revoked (here by itself, through the same
      // handle) is refused from its next call, whatever the call.
      const k = await asToken(keeper.token)
      assert.equal((await k.credentials.get(READONLY, { service: SVC })).value, readonly)
      assert.deepEqual(await k.tokens.revoke(keeper.id), { id: keeper.id })
      await refused(k.credentials.get(READONLY, { service: SVC }), 'unauthorized', keeper.token, readonly)
      await refused(k.tokens.self(), 'unauthorized', keeper.token)
      await refused(k.tokens.list(), 'unauthorized', keeper.token)
      await refused(k.tokens.create('child', SCANNER), 'unauthorized', keeper.token)
      if (mode === 'embedded') {
        assert.throws(() => k.credentials.getSync(READONLY, { service: SVC }), (e) => e.code === 'unauthorized')
      }
      const root = await asRoot()
      assert.deepEqual(
        (await root.tokens.list()).map((t) => t.revoked),
        [true, true],
      )
    })

    it('an expired token is refused', async () => {
      const { readonly } = await seed(v)
      const short = await v.tokens.create('short', SCANNER, { ttlMs: 1000 })
      assert.equal(ms(short.expiresAt) - ms(short.createdAt), 1000)
      await sleep(1200)
      const err = await refused(
        (async () => (await asToken(short.token)).credentials.get(READONLY, { service: SVC }))(),
        'unauthorized',
        short.token,
        readonly,
      )
      assert.match(err.message, /expired/)
    })

    it('an unknown token is refused without being echoed', async () => {
      await v.tokens.create('real', SCANNER)
      for (const bogus of [`vault_sk_${'Q'.repeat(48)}`, `not-a-token-at-all-${'z'.repeat(20)}`]) {
        await refused(
          (async () => (await asToken(bogus)).credentials.get(READONLY, { service: SVC }))(),
          'unauthorized',
          bogus,
        )
      }
    })

    it('a token cannot mint a broader token', async () => {
      await seed(v)
      const minter = await v.tokens.create(
        'minter',
        [
          { path: 'tokens/*', capabilities: ['admin'] },
          { path: `credentials/${SVC}/BITVAVO_*`, capabilities: ['read', 'list'] },
        ],
        { ttl: '1h' },
      )
      const m = await asToken(minter.token)
      for (const [rules, named] of [
        [[{ path: `credentials/${SVC}/*`, capabilities: ['read'] }], `rules[0] (read on credentials/${SVC}/*)`],
        [
          [
            { path: `credentials/${SVC}/BITVAVO_READONLY_*`, capabilities: ['read'] },
            { path: `credentials/${SVC}/BITVAVO_KEY`, capabilities: ['read', 'write'] },
          ],
          `rules[1] (write on credentials/${SVC}/BITVAVO_KEY)`,
        ],
        [[{ path: 'tokens/**', capabilities: ['admin'] }], 'rules[0] (admin on tokens/**)'],
        [[{ path: '**', capabilities: ['read'] }], 'rules[0] (read on **)'],
      ]) {
        const err = await refused(m.tokens.create('child', rules), 'forbidden', minter.token)
        assert.ok(err.message.includes(named), err.message)
      }
      assert.deepEqual(
        (await m.tokens.list()).map((t) => t.id),
        [minter.id],
      )

      // Within its rules it may; the child does not outlive it.
      const child = await m.tokens.create('child', SCANNER, { ttl: '30d' })
      assert.equal(child.expiresAt, minter.expiresAt)
      const c = await asToken(child.token)
      assert.equal((await c.tokens.self()).id, child.id)
      await c.credentials.get(READONLY, { service: SVC })
    })

    it('create, list and revoke check their arguments', async () => {
      const field = async (p) => (await rejectsWith(assert, p, 'invalid')).field
      const ttlOf = async (opts) => {
        const t = await v.tokens.create('ttl', SCANNER, opts)
        return ms(t.expiresAt) - ms(t.createdAt)
      }
      assert.equal(await ttlOf({ ttl: '1h 30m' }), 5_400_000)
      assert.equal(await ttlOf({ ttlMs: 2500 }), 2500)
      assert.equal((await v.tokens.create('forever', SCANNER, { ttl: null })).expiresAt, null)
      for (const ttl of ['soon', '', '-5s']) assert.equal(await field(v.tokens.create('x', SCANNER, { ttl })), 'ttl')
      assert.equal(await field(v.tokens.create('x', SCANNER, { ttl: 3600 })), 'ttl')
      assert.equal(await field(v.tokens.create('x', SCANNER, { ttlMs: 0 })), 'ttl')
      assert.equal(await field(v.tokens.create('x', SCANNER, { ttl: '4000d' })), 'ttl')
      for (const ttlMs of [-1, 1.5, '60000', Number.MAX_SAFE_INTEGER + 2]) {
        assert.equal(await field(v.tokens.create('x', SCANNER, { ttlMs })), 'ttlMs')
      }
      assert.equal(await field(v.tokens.create('x', SCANNER, { ttl: '1h', ttlMs: 1000 })), 'options')
      assert.equal(await field(v.tokens.create('x', SCANNER, { expires: '1h' })), 'options')

      assert.equal(await field(v.tokens.create('x', [{ path: 'a/*', capabilities: ['peek'] }])), 'rules[0].capabilities[0]')
      assert.equal(
        await field(v.tokens.create('x', [...SCANNER, { path: 'a/b', capabilities: ['read', 'Write'] }])),
        'rules[1].capabilities[1]',
      )
      assert.equal(await field(v.tokens.create('x', [{ path: 'a', capabilities: [] }])), 'rules[0].capabilities')
      assert.equal(await field(v.tokens.create('x', [{ path: 'a//b', capabilities: ['read'] }])), 'rules[0].path')
      assert.equal(await field(v.tokens.create('x', [{ capabilities: ['read'] }])), 'rules[0].path')
      assert.equal(await field(v.tokens.create('x', [{ path: 'a' }])), 'rules[0].capabilities')
      assert.equal(await field(v.tokens.create('x', [{ path: 'a', capabilities: ['read'], effect: 'deny' }])), 'rules[0]')
      assert.equal(await field(v.tokens.create('x', Array(65).fill({ path: 'a', capabilities: ['read'] }))), 'rules')
      assert.equal(await field(v.tokens.create('x', 'read:credentials/*')), 'rules')
      assert.equal(await field(v.tokens.create('x', [['a', ['read']]])), 'rules[0]')
      assert.equal(await field(v.tokens.create('x', [{ path: 3, capabilities: ['read'] }])), 'rules[0].path')
      assert.equal(await field(v.tokens.create('x', [{ path: 'a', capabilities: 'read' }])), 'rules[0].capabilities')
      assert.equal(await field(v.tokens.create('x', [{ path: 'a', capabilities: [1] }])), 'rules[0].capabilities[0]')
      assert.equal(await field(v.tokens.create('has space', SCANNER)), 'name')
      assert.equal(await field(v.tokens.create(42, SCANNER)), 'name')
      assert.deepEqual((await v.tokens.create('nothing', [])).rules, [])

      assert.equal(await field(v.tokens.revoke('tok_bad')), 'id')
      assert.equal(await field(v.tokens.revoke(7)), 'id')
      await rejectsWith(assert, v.tokens.revoke(`tok_${'A'.repeat(12)}`), 'not_found')
      assert.equal(await field(v.tokens.list({ limit: 0 })), 'limit')
      assert.equal(await field(v.tokens.list({ after: 'a b' })), 'after')
      assert.equal(await field(v.tokens.list({ page: 2 })), 'options')
      assert.deepEqual(
        (await v.tokens.list()).map((t) => t.name).sort(),
        ['forever', 'nothing', 'ttl', 'ttl'],
      )
    })

    it('tokens of a closed vault reject with invalid', async () => {
      const tokens = v.tokens
      v.close()
      const calls = [
        () => tokens.self(),
        () => tokens.list(),
        () => tokens.create('x', SCANNER),
        () => tokens.revoke(`tok_${'A'.repeat(12)}`),
      ]
      for (const c of calls) {
        const err = await rejectsWith(assert, c(), 'invalid')
        assert.match(err.message, /closed/)
      }
    })
  })
}

describe('open with a token option', () => {
  it('rejects a token that is not a string, without quoting it', async () => {
    const dir = tmpDir()
    try {
      const err = await rejectsWith(assert, vault.open(dir, { encryptionKey: KEY, token: 12345 }), 'invalid')
      assert.equal(err.field, 'token')
      assert.ok(!err.message.includes('12345'))
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
