// Trading guards (`v.guards`) in both modes: policy put/get/hash/diff/rollback, an allowed
// decision, a denial with its violations (cooldown), already_executed with the first
// execution, proposal_mismatch, bad input `invalid` naming the field, a halted state, an
// override, the LLM budget at its cap, and a planted value never in an error. Semantics are
// vault-core's (docs/guards.md); these check the binding carries them. Each test uses its own
// account, since a mode's tests share one vault.

import assert from 'node:assert/strict'
import crypto from 'node:crypto'
import { after, before, describe, it } from 'node:test'

import { RFC3339, SECRET, rejectsWith, setupMode } from './helpers.mjs'

const POLICY = {
  allowlist: ['EUR_USD', 'BTC/*'],
  max_position_notional: { default: '10000', per_instrument: { EUR_USD: '5000' } },
  min_confidence: 0.6,
  cooldown_s: 3600,
  anti_flip_s: 0,
  llm_calls: { hourly: 1, daily: 10 },
}

/** JSON with sorted keys and no whitespace (the canonical form the policy hash is over). */
function canonical(v) {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical(v[k])}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

for (const mode of ['embedded', 'remote']) {
  describe(`guards, ${mode} mode`, () => {
    let env
    let v
    before(async () => {
      env = await setupMode(mode)
      v = env.vault
    })
    after(async () => {
      await env?.teardown()
    })

    const buy = (account, proposalId, extra = {}) =>
      v.guards.decide(account, { proposalId, instrument: 'EUR_USD', side: 'buy', notional: '1000', confidence: 0.9, ...extra })

    it('puts, gets, diffs and rolls back a policy; the hash is over its canonical JSON', async () => {
      const w = await v.guards.putPolicy('pol', POLICY, { comment: 'tested limits' })
      assert.deepEqual(Object.keys(w).sort(), ['account', 'policyHash', 'version'])
      assert.deepEqual([w.account, w.version], ['pol', 1])
      assert.match(w.policyHash, /^sha256:[0-9a-f]{64}$/)
      const got = await v.guards.getPolicy('pol')
      assert.deepEqual([got.version, got.policyHash, got.comment], [1, w.policyHash, 'tested limits'])
      assert.equal(got.policy.proposal_ttl_s, 300)
      assert.deepEqual(got.policy.max_position_notional.per_instrument, { 'EUR/USD': '5000' })
      assert.equal(got.changedBy.id, mode === 'embedded' ? 'embedded' : 'root')
      const hex = crypto.createHash('sha256').update(canonical(got.policy)).digest('hex')
      assert.equal(w.policyHash, `sha256:${hex}`)

      await rejectsWith(assert, v.guards.putPolicy('pol', POLICY, { expectedVersion: 0 }), 'conflict')
      const w2 = await v.guards.putPolicy('pol', { ...POLICY, cooldown_s: 60 }, { expectedVersion: 1 })
      assert.equal(w2.version, 2)
      const d = await v.guards.diffPolicy('pol', 1, 2)
      assert.deepEqual([d.from, d.to, d.changes.map((c) => c.path)], [1, 2, ['/cooldown_s']])
      const back = await v.guards.rollbackPolicy('pol', 1, { comment: 'back' })
      assert.deepEqual([back.version, back.policyHash], [3, w.policyHash])
      assert.equal((await v.guards.getPolicy('pol', { version: 2 })).policy.cooldown_s, 60)
      await rejectsWith(assert, v.guards.getPolicy('nopolicy'), 'not_found')
    })

    it('allows, then denies by cooldown with the numbers, then answers already_executed', async () => {
      const w = await v.guards.putPolicy('dec', POLICY)
      const d = await buy('dec', 'p1', { notional: '1000.50' })
      assert.deepEqual([d.outcome, d.allowed, d.violations, d.policyHash], ['allowed', true, [], w.policyHash])
      const ex = d.execution
      assert.match(ex.executionId, /^ex_[0-9a-f]{24}$/)
      assert.deepEqual([ex.state, ex.instrument, ex.notional, ex.policyVersion], ['claimed', 'EUR/USD', '1000.5', 1])
      assert.deepEqual([ex.overrides, ex.filledNotional, ex.realizedPnl], [[], null, null])
      assert.match(ex.decidedAt, RFC3339)

      const denied = await buy('dec', 'p2', { notional: '10' })
      assert.deepEqual([denied.outcome, denied.allowed, denied.execution], ['denied', false, null])
      assert.deepEqual(
        denied.violations.map((x) => x.rule),
        ['COOLDOWN_ACTIVE'],
      )
      const [cooldown] = denied.violations
      assert.equal(cooldown.last_execution_id, ex.executionId)
      assert.ok(Number.isInteger(cooldown.remaining_s) && cooldown.remaining_s > 0 && cooldown.remaining_s <= 3600)

      const again = await buy('dec', 'p1', { notional: '1000.5' })
      assert.deepEqual([again.outcome, again.allowed], ['already_executed', false])
      assert.deepEqual(again.execution, ex)

      const execs = await v.guards.executions('dec')
      assert.deepEqual(
        execs.map((e) => e.executionId),
        [ex.executionId],
      )
      assert.equal(execs.next, undefined)
      assert.equal((await v.guards.getExecution('dec', ex.executionId)).proposalId, 'p1')
      const decisions = await v.guards.decisions('dec', { limit: 10 })
      assert.deepEqual(
        decisions.map((r) => [r.proposalId, r.outcome, r.executionId]),
        [
          ['p2', 'denied', null],
          ['p1', 'allowed', ex.executionId],
        ],
      )

      const first = await v.guards.decisions('dec', { limit: 1 })
      assert.deepEqual([first.map((r) => r.proposalId), typeof first.next], [['p2'], 'string'])
      const rest = await v.guards.decisions('dec', { after: first.next })
      assert.deepEqual(
        rest.map((r) => r.proposalId),
        ['p1'],
      )
      assert.equal((await v.guards.updateExecution('dec', ex.executionId, 'submitted')).state, 'submitted')
      const filled = await v.guards.updateExecution('dec', ex.executionId, 'filled', { fill: '1000.5', realizedPnl: '-2.5' })
      assert.deepEqual([filled.state, filled.filledNotional, filled.realizedPnl], ['filled', '1000.5', '-2.5'])
      await rejectsWith(assert, v.guards.updateExecution('dec', ex.executionId, 'submitted'), 'conflict')
    })

    it('rejects a reused proposal id with other trade fields as proposal_mismatch', async () => {
      await v.guards.putPolicy('mis', POLICY)
      assert.equal((await buy('mis', 'p1')).allowed, true)
      await rejectsWith(assert, buy('mis', 'p1', { notional: '2000' }), 'proposal_mismatch')
      await rejectsWith(assert, buy('mis', 'p1', { side: 'sell' }), 'proposal_mismatch')
    })

    it('refuses bad input as invalid naming the field', async () => {
      await v.guards.putPolicy('bad', POLICY)
      const cases = [
        [{ notional: 'abc' }, 'notional'],
        [{ notional: '-1' }, 'notional'],
        [{ notional: 1000 }, 'notional'],
        [{ side: 'long' }, 'side'],
        [{ origin: 'model' }, 'origin'],
        [{ confidence: 1.5 }, 'confidence'],
        [{ confidence: '0.9' }, 'confidence'],
        [{ proposalId: 'has space' }, 'proposal_id'],
        [{ expiresAt: 'tomorrow' }, 'expiresAt'],
      ]
      for (const [extra, field] of cases) {
        const err = await rejectsWith(assert, buy('bad', 'p1', extra), 'invalid')
        assert.equal(err.field, field, `${JSON.stringify(extra)}: ${err.message}`)
      }
      assert.equal((await rejectsWith(assert, buy('bad', 'p1', { unknown: 1 }), 'invalid')).field, 'proposal')
      assert.equal((await rejectsWith(assert, v.guards.decide('bad'), 'invalid')).field, 'proposal')
      assert.equal((await rejectsWith(assert, v.guards.getState('no/slash'), 'invalid')).field, 'account')
      const policyErr = await rejectsWith(assert, v.guards.putPolicy('bad', { ...POLICY, cooldown_s: 'soon' }), 'invalid')
      assert.equal(policyErr.field, 'policy.cooldown_s')
      const unknownErr = await rejectsWith(assert, v.guards.putPolicy('bad', { ...POLICY, bogus: 1 }), 'invalid')
      assert.equal(unknownErr.field, 'policy.bogus')
      assert.deepEqual(await v.guards.executions('bad'), [])
    })

    it('denies while HALTED (latched) and allows once ACTIVE again', async () => {
      await v.guards.putPolicy('halt', POLICY)
      assert.equal((await v.guards.getState('halt')).state, 'ACTIVE')
      const s = await v.guards.setState('halt', 'HALTED', 'operator stop: venue outage')
      assert.deepEqual([s.account, s.state, s.reason, s.trigger], ['halt', 'HALTED', 'operator stop: venue outage', 'manual'])
      const d = await buy('halt', 'p1', { instrument: 'BTC/USDT' })
      assert.deepEqual([d.outcome, d.violations.map((x) => x.rule)], ['denied', ['TRADING_HALTED']])
      assert.equal((await v.guards.getState('halt')).state, 'HALTED')
      const err = await rejectsWith(assert, v.guards.setState('halt', 'PAUSED', 'why not'), 'invalid')
      assert.equal(err.field, 'state')
      await v.guards.setState('halt', 'ACTIVE', 'venue back')
      assert.equal((await buy('halt', 'p2', { instrument: 'BTC/USDT' })).allowed, true)
    })

    it('lets one proposal through the cooldown with an override, once', async () => {
      await v.guards.putPolicy('ovr', POLICY)
      assert.equal((await buy('ovr', 'p1')).allowed, true)
      const o = await v.guards.createOverride('ovr', 'p2', ['cooldown'], 're-entry approved by the desk')
      assert.deepEqual([o.proposalId, o.rules, o.usedBy], ['p2', ['COOLDOWN_ACTIVE'], null])
      const d = await buy('ovr', 'p2', { notional: '500' })
      assert.deepEqual([d.outcome, d.allowed], ['allowed', true])
      assert.equal(d.execution.overrides.length, 1)
      assert.equal(d.execution.overrides[0].overridden.rule, 'COOLDOWN_ACTIVE')
      assert.equal(d.execution.overrides[0].reason, 're-entry approved by the desk')
      const next = await buy('ovr', 'p3', { notional: '1' })
      assert.deepEqual(
        next.violations.map((x) => x.rule),
        ['COOLDOWN_ACTIVE'],
      )
      const err = await rejectsWith(assert, v.guards.createOverride('ovr', 'p4', ['cooldown'], 'short'), 'invalid')
      assert.equal(err.field, 'reason')
    })

    it('refuses the second LLM call at an hourly cap of 1', async () => {
      await v.guards.putPolicy('llm', POLICY)
      const a = await v.guards.admitLlmCall('llm', { model: 'gpt-4o' })
      assert.deepEqual([a.admitted, a.exhausted], [true, null])
      assert.equal(typeof a.callId, 'string')
      const refused = await v.guards.admitLlmCall('llm')
      assert.deepEqual([refused.admitted, refused.exhausted, refused.callId], [false, 'hourly', null])
      const hourly = refused.windows.find((w) => w.window === 'hourly')
      assert.deepEqual([hourly.limit, hourly.used, hourly.remaining], [1, 1, 0])
      assert.match(hourly.resetsAt, RFC3339)
      const windows = await v.guards.llmBudget('llm')
      assert.deepEqual(
        windows.map((w) => [w.window, w.limit, w.used]).sort(),
        [
          ['daily', 10, 1],
          ['hourly', 1, 1],
        ],
      )
    })

    it('stores proposals: pending, decided by decide, expired by the sweep', async () => {
      await v.guards.putPolicy('prop', POLICY)
      const proposal = { proposalId: 'p1', instrument: 'EUR_USD', side: 'buy', notional: '1000', confidence: 0.9 }
      const p = await v.guards.propose('prop', proposal)
      assert.deepEqual([p.proposalId, p.instrument, p.notional, p.state], ['p1', 'EUR/USD', '1000', 'pending'])
      assert.ok(Date.parse(p.expiresAt) > Date.parse(p.createdAt))
      assert.deepEqual(await v.guards.propose('prop', proposal), p)
      await rejectsWith(assert, v.guards.propose('prop', { ...proposal, notional: '999' }), 'proposal_mismatch')
      await rejectsWith(assert, buy('prop', 'p1', { notional: '999' }), 'proposal_mismatch')
      assert.equal((await buy('prop', 'p1')).allowed, true)

      const soon = new Date(Date.now() + 1000)
      await v.guards.propose('prop', { ...proposal, proposalId: 'p2', instrument: 'BTC/USDT', expiresAt: soon })
      await new Promise((resolve) => setTimeout(resolve, 1200))
      assert.equal(await v.guards.expireProposals('prop'), 1)
      const listed = await v.guards.proposals('prop')
      assert.deepEqual(
        listed.map((r) => [r.proposalId, r.state]),
        [
          ['p1', 'decided'],
          ['p2', 'expired'],
        ],
      )
    })

    it('never puts a planted value in an error', async () => {
      await v.guards.putPolicy('leak', POLICY)
      const attempts = [
        () => buy('leak', 'p1', { notional: SECRET }),
        () => buy('leak', 'p1', { side: SECRET }),
        () => buy('leak', `${SECRET} x`),
        () => buy('leak', 'p1', { expiresAt: SECRET }),
        () => v.guards.putPolicy('leak', { ...POLICY, cooldown_s: SECRET }),
        () => v.guards.putPolicy('leak', { ...POLICY, max_position_notional: { default: SECRET } }),
        () => v.guards.setState('leak', SECRET, 'reason'),
        () => v.guards.updateExecution('leak', 'ex_1', 'filled', { fill: SECRET }),
        () => v.guards.getState(`${SECRET}/x`),
      ]
      for (const attempt of attempts) {
        const err = await rejectsWith(assert, attempt(), 'invalid')
        assert.ok(!String(err.field).includes(SECRET), err.field)
      }
    })
  })
}
