// One suite, run against both modes: an embedded vault in a tmp dir and a real vault-http
// server spawned on a free port. Every method, the errors each mode can produce, concurrency,
// and that no secret shows in util.inspect, JSON.stringify or error messages.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import util from 'node:util'

import { RFC3339, SECRET, rejectsWith, setupMode, vault } from './helpers.mjs'

for (const mode of ['embedded', 'remote']) {
  describe(`${mode} mode`, () => {
    let env
    let v
    before(async () => {
      env = await setupMode(mode)
      v = env.vault
    })
    after(async () => {
      await env?.teardown()
    })

    it('reports its mode and health', async () => {
      assert.equal(v.mode, mode)
      assert.equal(v.closed, false)
      const h = await v.health()
      assert.equal(h.status, 'ok')
      assert.equal(h.ok, true)
      assert.equal(typeof h.version, 'string')
      assert.match(h.timestamp, RFC3339)
      assert.equal(typeof h.message, 'string')
      assert.equal(typeof h.components, 'object')
    })

    it('invalid errors name their field, the same way in both modes', async () => {
      const field = async (p) => {
        try {
          await p
        } catch (err) {
          assert.equal(err.code, 'invalid', err.message)
          return err.field
        }
        assert.fail('expected a rejection')
      }
      // Each of these is refused by vault-core's rule, before anything is sent when remote.
      assert.equal(await field(v.credentials.put('K', '', { service: 'svc' })), 'value')
      assert.equal(await field(v.credentials.put('K', 'x'.repeat(2_000_000), { service: 'svc' })), 'value')
      assert.equal(await field(v.credentials.put('../x', 'v', { service: 'svc' })), 'key')
      assert.equal(await field(v.configs.put('svc', 'x', { symbols: ['ok', ''] })), 'symbols[1]')
      assert.equal(await field(v.configs.history('svc', 'x', { limit: 0 })), 'limit')
      assert.equal(await field(v.configs.list('svc', { limit: 5000 })), 'limit')
      // Not an `invalid` error: no field.
      await assert.rejects(v.credentials.get('NOPE_FIELDLESS', { service: 'svc' }), (err) => {
        assert.equal(err.code, 'not_found')
        assert.equal(err.field, undefined)
        return true
      })
    })

    it('lists of a service with nothing are empty', async () => {
      assert.deepEqual(await v.credentials.list('nobody'), [])
      assert.deepEqual(await v.configs.list('nobody'), [])
    })

    it('credentials: put creates, put again adds a version, get returns the value', async () => {
      const w1 = await v.credentials.put('OPENAI_API_KEY', 'sk-test', {
        service: 'chatty',
        metadata: { owner: 'chat', rotated: false },
      })
      assert.deepEqual(w1, { key: 'OPENAI_API_KEY', service: 'chatty', action: 'created', version: 1 })
      const w2 = await v.credentials.put('OPENAI_API_KEY', 'sk-test-2', { service: 'chatty' })
      assert.deepEqual(w2, { key: 'OPENAI_API_KEY', service: 'chatty', action: 'updated', version: 2 })

      const cred = await v.credentials.get('OPENAI_API_KEY', { service: 'chatty' })
      assert.ok(cred instanceof vault.Credential)
      assert.equal(cred.value, 'sk-test-2')
      assert.equal(cred.key, 'OPENAI_API_KEY')
      assert.equal(cred.service, 'chatty')
      assert.equal(cred.version, 2)
      // metadata omitted on the second put: the previous version's is kept
      assert.deepEqual(cred.metadata, { owner: 'chat', rotated: false })
      assert.match(cred.createdAt, RFC3339)
      assert.match(cred.updatedAt, RFC3339)
      assert.ok(cred.createdAt <= cred.updatedAt)

      // without a service: the one service that has the key
      const again = await v.credentials.get('OPENAI_API_KEY')
      assert.equal(again.value, 'sk-test-2')
      assert.equal(again.service, 'chatty')
    })

    it('credentials: list shows names and metadata, never values', async () => {
      await v.credentials.put('B_KEY', SECRET, { service: 'lister', metadata: { n: 2 } })
      await v.credentials.put('A_KEY', SECRET, { service: 'lister' })
      const list = await v.credentials.list('lister')
      assert.deepEqual(
        list.map((c) => [c.key, c.service, c.version]),
        [
          ['A_KEY', 'lister', 1],
          ['B_KEY', 'lister', 1],
        ],
      )
      assert.deepEqual(list[1].metadata, { n: 2 })
      assert.deepEqual(list[0].metadata, {})
      for (const item of list) {
        assert.equal(Object.getPrototypeOf(item), Object.prototype, 'a plain object')
        assert.ok(!('value' in item))
        assert.match(item.createdAt, RFC3339)
        assert.match(item.updatedAt, RFC3339)
      }
      assert.ok(!JSON.stringify(list).includes(SECRET))
      assert.ok(!util.inspect(list, { depth: Infinity }).includes(SECRET))
    })

    it('credentials: delete removes every version; not_found afterwards', async () => {
      await v.credentials.put('TO_DELETE', 'x1', { service: 'del' })
      await v.credentials.put('TO_DELETE', 'x2', { service: 'del' })
      assert.deepEqual(await v.credentials.delete('TO_DELETE', { service: 'del' }), { service: 'del', key: 'TO_DELETE' })
      await rejectsWith(assert, v.credentials.get('TO_DELETE', { service: 'del' }), 'not_found')
      await rejectsWith(assert, v.credentials.delete('TO_DELETE', { service: 'del' }), 'not_found')
      assert.deepEqual(await v.credentials.list('del'), [])
      // deleting without a service resolves the one service that has it
      await v.credentials.put('SOLO_DEL', 'x', { service: 'del' })
      await v.credentials.delete('SOLO_DEL')
      await rejectsWith(assert, v.credentials.get('SOLO_DEL'), 'not_found')
    })

    it('credentials: delete resolves to what was deleted, the service resolved when omitted', async () => {
      await v.credentials.put('DEL_OUTCOME', SECRET, { service: 'del-outcome' })
      const d = await v.credentials.delete('DEL_OUTCOME')
      assert.deepEqual(d, { service: 'del-outcome', key: 'DEL_OUTCOME' })
      assert.equal(Object.getPrototypeOf(d), Object.prototype, 'a plain object')
      assert.deepEqual(Object.keys(d).sort(), ['key', 'service'])
      assert.ok(!JSON.stringify(d).includes(SECRET))
      await rejectsWith(assert, v.credentials.delete('DEL_OUTCOME'), 'not_found')
      await rejectsWith(assert, v.credentials.delete('../x', { service: 'del-outcome' }), 'invalid')
      const e = await rejectsWith(assert, v.credentials.delete('K', { service: 'ok', servce: 'x' }), 'invalid')
      assert.match(e.message, /servce/)
    })

    it('credentials: compare-and-set with expectedVersion', async () => {
      const w = await v.credentials.put('CAS_KEY', 'v1', { service: 'cas', expectedVersion: 0 })
      assert.equal(w.action, 'created')
      await rejectsWith(assert, v.credentials.put('CAS_KEY', SECRET, { service: 'cas', expectedVersion: 0 }), 'conflict')
      await v.credentials.put('CAS_KEY', 'v2', { service: 'cas', expectedVersion: 1 })
      const stale = await rejectsWith(
        assert,
        v.credentials.put('CAS_KEY', SECRET, { service: 'cas', expectedVersion: 1 }),
        'conflict',
      )
      assert.ok(stale.message.length > 0)
      assert.equal((await v.credentials.get('CAS_KEY', { service: 'cas' })).value, 'v2')
    })

    it('credentials: an ambiguous key without a service is a conflict', async () => {
      await v.credentials.put('SHARED_KEY', 'a', { service: 'svc-a' })
      await v.credentials.put('SHARED_KEY', 'b', { service: 'svc-b' })
      await rejectsWith(assert, v.credentials.get('SHARED_KEY'), 'conflict')
      await rejectsWith(assert, v.credentials.delete('SHARED_KEY'), 'conflict')
      assert.equal((await v.credentials.get('SHARED_KEY', { service: 'svc-b' })).value, 'b')
    })

    it('credentials: not_found for a missing key or service', async () => {
      await rejectsWith(assert, v.credentials.get('NO_SUCH_KEY', { service: 'chatty' }), 'not_found')
      await rejectsWith(assert, v.credentials.get('NO_SUCH_KEY'), 'not_found')
    })

    it('invalid: bad names, bad values, bad option shapes (no value echoed)', async () => {
      for (const bad of ['../x', '', 'a/b', '.hidden', 'x'.repeat(200)]) {
        await rejectsWith(assert, v.credentials.put(bad, SECRET, { service: 'ok' }), 'invalid')
        await rejectsWith(assert, v.credentials.put('OK_KEY', SECRET, { service: bad }), 'invalid')
        await rejectsWith(assert, v.configs.put('ok', bad, { params: {} }), 'invalid')
      }
      await rejectsWith(assert, v.credentials.get('../x', { service: 'chatty' }), 'invalid')
      await rejectsWith(assert, v.credentials.list('../x'), 'invalid')
      await rejectsWith(assert, v.configs.list('../x'), 'invalid')
      await rejectsWith(assert, v.configs.get('../x', 'default'), 'invalid')
      // an empty value is refused by the vault
      await rejectsWith(assert, v.credentials.put('EMPTY', '', { service: 'ok' }), 'invalid')
      // shape errors caught by the wrapper, named by field
      const e1 = await rejectsWith(assert, v.credentials.put('K', SECRET, {}), 'invalid')
      assert.match(e1.message, /service/)
      const e2 = await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 'ok', serivce: 'x' }), 'invalid')
      assert.match(e2.message, /serivce/)
      await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 'ok', expected_version: 1 }), 'invalid')
      await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 'ok', metadata: [1] }), 'invalid')
      await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 'ok', expectedVersion: -1 }), 'invalid')
      await rejectsWith(assert, v.credentials.put('K', SECRET, { service: 'ok', expectedVersion: 1.5 }), 'invalid')
      await rejectsWith(assert, v.credentials.put('K', 42, { service: 'ok' }), 'invalid')
      await rejectsWith(assert, v.credentials.get(42), 'invalid')
      await rejectsWith(assert, v.configs.put('ok', 'default', { symbols: 'EUR_USD' }), 'invalid')
      await rejectsWith(assert, v.configs.put('ok', 'default', { enabled: 'yes' }), 'invalid')
      await rejectsWith(assert, v.configs.put('ok', 'default', { risk_limits: {} }), 'invalid')
      await rejectsWith(assert, v.configs.get('ok', 'default', { version: 'latest' }), 'invalid')
      // nothing was written by the failed puts
      assert.deepEqual(await v.credentials.list('ok'), [])
    })

    it('configs: put, get (latest and by version), list, compare-and-set', async () => {
      const w1 = await v.configs.put('fxshinobi', 'default', {
        params: { fast: 12, slow: 26 },
        symbols: ['EUR_USD', 'GBP_USD'],
        riskLimits: { maxPositionSize: 10000 },
      })
      assert.deepEqual(w1, { service: 'fxshinobi', strategyId: 'default', action: 'created', version: 1 })
      const w2 = await v.configs.put('fxshinobi', 'default', { enabled: false, expectedVersion: 1 })
      assert.deepEqual(w2, { service: 'fxshinobi', strategyId: 'default', action: 'updated', version: 2 })
      await v.configs.put('fxshinobi', 'breakout')

      const latest = await v.configs.get('fxshinobi', 'default')
      assert.equal(Object.getPrototypeOf(latest), Object.prototype)
      assert.deepEqual(
        { ...latest, createdAt: undefined, updatedAt: undefined },
        {
          service: 'fxshinobi',
          strategyId: 'default',
          params: { fast: 12, slow: 26 },
          symbols: ['EUR_USD', 'GBP_USD'],
          riskLimits: { maxPositionSize: 10000 },
          enabled: false,
          version: 2,
          createdAt: undefined,
          updatedAt: undefined,
          stale: false,
          changedBy: mode === 'embedded' ? { id: 'embedded', name: 'embedded' } : { id: 'root', name: 'root' },
          deleted: false,
          revision: 3,
        },
      )
      assert.match(latest.createdAt, RFC3339)
      assert.match(latest.updatedAt, RFC3339)

      const v1 = await v.configs.get('fxshinobi', 'default', { version: 1 })
      assert.equal(v1.version, 1)
      assert.equal(v1.enabled, true)

      const fresh = await v.configs.get('fxshinobi', 'breakout')
      assert.deepEqual([fresh.params, fresh.symbols, fresh.riskLimits, fresh.enabled], [{}, [], {}, true])

      const list = await v.configs.list('fxshinobi')
      assert.deepEqual(
        list.map((c) => [c.strategyId, c.version, c.stale]),
        [
          ['breakout', 1, false],
          ['default', 2, false],
        ],
      )

      await rejectsWith(assert, v.configs.put('fxshinobi', 'default', { enabled: true, expectedVersion: 1 }), 'conflict')
      await rejectsWith(assert, v.configs.put('fxshinobi', 'default', { expectedVersion: 0 }), 'conflict')
      await rejectsWith(assert, v.configs.get('fxshinobi', 'default', { version: 99 }), 'not_found')
      await rejectsWith(assert, v.configs.get('fxshinobi', 'nope'), 'not_found')
      assert.deepEqual(await v.configs.list('no-such-service'), [])
    })

    it('configs: history pages through the versions, newest first', async () => {
      for (let n = 1; n <= 5; n++) await v.configs.put('hist', 'default', { params: { n }, enabled: n % 2 === 1 })
      await v.configs.put('hist', 'other')

      const all = await v.configs.history('hist', 'default')
      assert.deepEqual(Object.keys(all).sort(), ['oldestVersion', 'versions'], 'no next when nothing older is left')
      assert.equal(all.oldestVersion, 1)
      assert.deepEqual(
        all.versions.map((c) => [c.version, c.params.n, c.enabled]),
        [
          [5, 5, true],
          [4, 4, false],
          [3, 3, true],
          [2, 2, false],
          [1, 1, true],
        ],
      )
      for (const c of all.versions) {
        assert.equal(Object.getPrototypeOf(c), Object.prototype)
        assert.equal(c.service, 'hist')
        assert.equal(c.strategyId, 'default')
        assert.equal(c.stale, false)
        assert.match(c.createdAt, RFC3339)
        assert.match(c.updatedAt, RFC3339)
      }
      // every entry is the version configs.get returns
      assert.deepEqual(all.versions[2], await v.configs.get('hist', 'default', { version: 3 }))
      assert.deepEqual(all.versions[0], await v.configs.get('hist', 'default'))

      // pages of 2: pass `next` as `after`
      const pages = []
      let after
      for (;;) {
        const page = await v.configs.history('hist', 'default', { limit: 2, after })
        pages.push([page.versions.map((c) => c.version), page.next])
        if (page.next === undefined) break
        after = page.next
      }
      assert.deepEqual(pages, [
        [[5, 4], 4],
        [[3, 2], 2],
        [[1], undefined],
      ])
      const exact = await v.configs.history('hist', 'default', { limit: 5 })
      assert.equal(exact.versions.length, 5)
      assert.equal(exact.next, undefined)
      assert.deepEqual((await v.configs.history('hist', 'default', { after: 3, limit: 1 })).versions.map((c) => c.version), [2])
      assert.deepEqual((await v.configs.history('hist', 'other')).versions.map((c) => c.version), [1])
    })

    it('configs: history of a missing config is not_found; limit and after are checked', async () => {
      await v.configs.put('hist-err', 'default')
      await rejectsWith(assert, v.configs.history('hist-err', 'nope'), 'not_found')
      await rejectsWith(assert, v.configs.history('no-such-service', 'default'), 'not_found')
      // the range is vault-core's rule: 1 to 1000
      for (const limit of [0, 1001]) {
        const e = await rejectsWith(assert, v.configs.history('hist-err', 'default', { limit }), 'invalid')
        assert.match(e.message, /limit/)
      }
      assert.equal((await v.configs.history('hist-err', 'default', { limit: 1000 })).versions.length, 1)
      // shapes: the wrapper names the field
      for (const limit of ['10', -1, 1.5, {}]) {
        const e = await rejectsWith(assert, v.configs.history('hist-err', 'default', { limit }), 'invalid')
        assert.match(e.message, /limit/)
      }
      for (const after of ['2', -1, 2.5]) {
        const e = await rejectsWith(assert, v.configs.history('hist-err', 'default', { after }), 'invalid')
        assert.match(e.message, /after/)
      }
      const e = await rejectsWith(assert, v.configs.history('hist-err', 'default', { version: 1 }), 'invalid')
      assert.match(e.message, /version/)
      await rejectsWith(assert, v.configs.history('hist-err', 'default', 5), 'invalid')
      await rejectsWith(assert, v.configs.history('../x', 'default'), 'invalid')
      await rejectsWith(assert, v.configs.history('hist-err', '../x'), 'invalid')
      await rejectsWith(assert, v.configs.history('hist-err', 42), 'invalid')
    })

    it('configs: diff lists the changes between two versions; bad versions are refused', async () => {
      await v.configs.put('diff', 'd', { params: { fast: 12, slow: 26 }, symbols: ['EUR_USD', 'GBP_USD'] })
      await v.configs.put('diff', 'd', { params: { fast: 10, slow: 26 }, symbols: ['EUR_USD'], enabled: false })
      const d = await v.configs.diff('diff', 'd', 1, 2)
      assert.deepEqual(d, {
        from: 1,
        to: 2,
        changes: [
          { op: 'replace', path: '/params/fast', old: 12, new: 10 },
          { op: 'remove', path: '/symbols/1', old: 'GBP_USD' },
          { op: 'replace', path: '/enabled', old: true, new: false },
        ],
      })
      const back = await v.configs.diff('diff', 'd', 2, 1)
      assert.deepEqual(back.changes[1], { op: 'add', path: '/symbols/1', new: 'GBP_USD' })
      assert.deepEqual((await v.configs.diff('diff', 'd', 2, 2)).changes, [])
      for (const [from, to, field] of [
        [0, 2, 'from'],
        [1, 0, 'to'],
        [undefined, 2, 'from'],
        [1, undefined, 'to'],
        ['1', 2, 'from'],
        [1, 2.5, 'to'],
        [-1, 2, 'from'],
      ]) {
        const e = await rejectsWith(assert, v.configs.diff('diff', 'd', from, to), 'invalid')
        assert.equal(e.field, field, `${from}..${to}: ${e.message}`)
      }
      await rejectsWith(assert, v.configs.diff('diff', 'd', 1, 3), 'not_found')
      await rejectsWith(assert, v.configs.diff('diff', 'nope', 1, 2), 'not_found')
      await rejectsWith(assert, v.configs.diff('../x', 'd', 1, 2), 'invalid')
    })

    it('configs: rollback writes a new version with an earlier content', async () => {
      await v.configs.put('rb', 'r', { params: { fast: 12 }, symbols: ['EUR_USD'] })
      await v.configs.put('rb', 'r', { params: { fast: 10 }, enabled: false })
      const w = await v.configs.rollback('rb', 'r', 1)
      assert.deepEqual(w, { service: 'rb', strategyId: 'r', action: 'updated', version: 3 })
      const c = await v.configs.get('rb', 'r')
      assert.deepEqual([c.version, c.params, c.symbols, c.enabled], [3, { fast: 12 }, ['EUR_USD'], true])
      assert.deepEqual((await v.configs.history('rb', 'r')).versions.map((x) => x.version), [3, 2, 1])
      for (const bad of [0, -1, 1.5, '1', undefined]) {
        const e = await rejectsWith(assert, v.configs.rollback('rb', 'r', bad), 'invalid')
        assert.equal(e.field, 'to_version', `${bad}: ${e.message}`)
      }
      await rejectsWith(assert, v.configs.rollback('rb', 'r', 9), 'not_found')
      await rejectsWith(assert, v.configs.rollback('rb', 'nope', 1), 'not_found')
      assert.equal((await v.configs.get('rb', 'r')).version, 3)
    })

    it('configs: each version records who and why; rollback takes a comment and compare-and-set', async () => {
      await v.configs.put('who', 'c', { params: { fast: 12 }, comment: 'first cut' })
      await v.configs.put('who', 'c', { params: { fast: 10 } })
      await v.configs.rollback('who', 'c', 1)
      await v.configs.rollback('who', 'c', 2, { comment: 'again', expectedVersion: 3 })
      await rejectsWith(assert, v.configs.rollback('who', 'c', 1, { expectedVersion: 3 }), 'conflict')
      const h = await v.configs.history('who', 'c')
      assert.deepEqual(
        h.versions.map((c) => [c.version, c.comment ?? null]),
        [[4, 'again'], [3, 'rollback to version 1'], [2, null], [1, 'first cut']],
      )
      const caller = mode === 'embedded' ? 'embedded' : 'root'
      for (const c of h.versions) assert.deepEqual(c.changedBy, { id: caller, name: caller })
      let e = await rejectsWith(assert, v.configs.put('who', 'c', { comment: 'x'.repeat(1025) }), 'invalid')
      assert.equal(e.field, 'comment')
      e = await rejectsWith(assert, v.configs.put('who', 'c', { comment: 5 }), 'invalid')
      assert.equal(e.field, 'comment')
      e = await rejectsWith(assert, v.configs.rollback('who', 'c', 1, { coment: 'typo' }), 'invalid')
      e = await rejectsWith(assert, v.configs.put('who', 'c', { riskLimits: { max_daily_loss: 3 } }), 'invalid')
      assert.equal(e.field, 'risk_limits.max_daily_loss')
      e = await rejectsWith(assert, v.configs.put('who', 'c', { symbols: ['A', 'A'] }), 'invalid')
      assert.equal(e.field, 'symbols[1]')
      assert.equal((await v.configs.get('who', 'c')).version, 4)
    })

    it('configs: delete keeps the history; a rollback brings the config back', async () => {
      await v.configs.put('del', 'd', { params: { fast: 12 } })
      await v.configs.put('del', 'keep')
      await rejectsWith(assert, v.configs.delete('del', 'd', { expectedVersion: 5 }), 'conflict')
      const w = await v.configs.delete('del', 'd', { expectedVersion: 1 })
      assert.deepEqual(w, { service: 'del', strategyId: 'd', action: 'deleted', version: 2 })
      await rejectsWith(assert, v.configs.get('del', 'd'), 'not_found')
      assert.equal((await v.configs.get('del', 'd', { version: 2 })).deleted, true)
      assert.deepEqual((await v.configs.list('del')).map((c) => c.strategyId), ['keep'])
      await rejectsWith(assert, v.configs.delete('del', 'd'), 'not_found')
      const back = await v.configs.rollback('del', 'd', 1)
      assert.deepEqual([back.action, back.version], ['created', 3])
      assert.deepEqual((await v.configs.get('del', 'd')).params, { fast: 12 })
    })

    it('configs: watch reports what changed after a revision; watcher wakes on the next write', async () => {
      await v.configs.put('w', 'a')
      const listed = await v.configs.list('w')
      assert.equal(listed.revision, 1)
      assert.equal((await v.configs.get('w', 'a')).revision, 1)
      await v.configs.put('w', 'b')
      await v.configs.put('w', 'a', { enabled: false })
      const seen = await v.configs.watch('w', { since: listed.revision, timeout: 5 })
      assert.deepEqual(seen, {
        service: 'w',
        revision: 3,
        changes: [
          { strategyId: 'b', version: 1, deleted: false },
          { strategyId: 'a', version: 2, deleted: false },
        ],
      })
      const quiet = await v.configs.watch('w', { since: 3, timeout: 0 })
      assert.deepEqual([quiet.revision, quiet.changes], [3, []])
      for (const bad of [-1, 61, Number.NaN, '5']) {
        const e = await rejectsWith(assert, v.configs.watch('w', { timeout: bad }), 'invalid')
        assert.equal(e.field, 'timeout', String(bad))
      }
      await rejectsWith(assert, v.configs.watch('w', { sinse: 1 }), 'invalid')

      const watcher = v.configs.watcher('w', { since: 3, timeout: 10 })
      assert.equal(watcher.revision, 3)
      const next = watcher.next()
      setTimeout(() => v.configs.put('w', 'a', { params: { n: 2 } }), 200)
      const step = await next
      assert.deepEqual(step.value.changes, [{ strategyId: 'a', version: 3, deleted: false }])
      assert.equal(watcher.revision, 4)
      assert.deepEqual(await watcher.return(), { value: undefined, done: true })
      assert.deepEqual(await watcher.next(), { value: undefined, done: true })
    })

    // The bound is liveness, not speed: without the cancel, the step would wait out its 60 s
    // watch and the test would fail on its 20 s timeout.
    it('configs: return() ends a watcher step that is waiting', { timeout: 20000 }, async () => {
      await v.configs.put('wr', 'a')
      const since = (await v.configs.get('wr', 'a')).revision
      const watcher = v.configs.watcher('wr', { since, timeout: 60 })
      const pending = watcher.next()
      await new Promise((resolve) => setTimeout(resolve, 200))
      await watcher.return()
      assert.deepEqual(await pending, { value: undefined, done: true })
      await v.configs.put('wr', 'a', { params: { n: 2 } })
      assert.deepEqual(await watcher.next(), { value: undefined, done: true })
    })

    it('1,000 concurrent gets', async () => {
      await v.credentials.put('CONCURRENT', 'c-value', { service: 'load' })
      // (that calls in flight leave the event loop free is eventloop.test.mjs's subject)
      const all = Array.from({ length: 1000 }, () => v.credentials.get('CONCURRENT', { service: 'load' }))
      const results = await Promise.all(all)
      assert.equal(results.length, 1000)
      assert.ok(results.every((c) => c.value === 'c-value' && c.version === 1))
    })

    it('concurrent puts with the same expectedVersion: exactly one wins', async () => {
      await v.credentials.put('RACE', 'r0', { service: 'race' })
      const outcomes = await Promise.allSettled(
        Array.from({ length: 16 }, (_, i) => v.credentials.put('RACE', `r${i + 1}`, { service: 'race', expectedVersion: 1 })),
      )
      assert.equal(outcomes.filter((o) => o.status === 'fulfilled').length, 1)
      for (const o of outcomes.filter((o) => o.status === 'rejected')) assert.equal(o.reason.code, 'conflict')
      assert.equal((await v.credentials.get('RACE', { service: 'race' })).version, 2)
    })

    it('a credential value never shows in inspect, console.log formatting or JSON', async () => {
      await v.credentials.put('LEAK_CHECK', SECRET, { service: 'leak', metadata: { note: 'not secret' } })
      const cred = await v.credentials.get('LEAK_CHECK', { service: 'leak' })
      assert.equal(cred.value, SECRET)
      const renderings = [
        util.inspect(cred),
        util.inspect(cred, { showHidden: true, depth: Infinity, getters: true }),
        util.inspect({ nested: [cred] }, { depth: Infinity }),
        util.format('%o %O %s %j', cred, cred, cred, cred),
        JSON.stringify(cred),
        JSON.stringify({ list: [cred] }),
        String(cred),
        `${cred}`,
        JSON.stringify({ ...cred }),
        Object.keys(cred).join(','),
      ]
      for (const r of renderings) {
        assert.ok(!r.includes(SECRET), `secret leaked in: ${r.replace(SECRET, '<SECRET>')}`)
      }
      assert.match(util.inspect(cred), /\[REDACTED\]/)
      assert.match(util.inspect(cred), /LEAK_CHECK/)
      assert.equal(JSON.parse(JSON.stringify(cred)).value, '[REDACTED]')
      assert.deepEqual(JSON.parse(JSON.stringify(cred)).metadata, { note: 'not secret' })
      assert.ok(!Object.keys(cred).includes('value'), 'value is not an own enumerable property')
      assert.equal({ ...cred }.value, undefined)
      assert.ok(!util.inspect(v, { depth: Infinity }).includes(SECRET))
    })

    it('close(): later calls reject with invalid; closing twice is harmless', async () => {
      const other = await env.another()
      assert.equal(other.closed, false)
      other.close()
      other.close()
      assert.equal(other.closed, true)
      await rejectsWith(assert, other.credentials.get('X', { service: 'y' }), 'invalid')
      await rejectsWith(assert, other.configs.list('y'), 'invalid')
      await rejectsWith(assert, other.health(), 'invalid')
      const e = await rejectsWith(assert, other.configs.history('y', 'z'), 'invalid')
      assert.match(e.message, /closed/)
      await rejectsWith(assert, other.credentials.delete('X', { service: 'y' }), 'invalid')
      // the suite's own handle is unaffected
      assert.equal((await v.health()).ok, true)
    })
  })
}
