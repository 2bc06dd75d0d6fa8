// Scheduler jobs (`v.jobs`) in both modes: create, claim, renew, release, sweep, get, list; a
// stale owner refused; bad input `invalid` naming the field; concurrent claimers each get
// distinct jobs. Lease expiry is driven by a manual clock in vault-core's tests: nothing here
// waits for time.

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'

import { RFC3339, rejectsWith, setupMode } from './helpers.mjs'

const ACCT = 'acct'
const PAST = '2020-01-01T00:00:00.000Z'

for (const mode of ['embedded', 'remote']) {
  describe(`jobs, ${mode} mode`, () => {
    let env
    let v
    before(async () => {
      env = await setupMode(mode)
      v = env.vault
    })
    after(async () => {
      await env?.teardown()
    })

    it('runs a job from create to done and refuses the stale owner', async () => {
      const c = await v.jobs.create(ACCT, 'scan', { maxAttempts: 3 })
      assert.equal(c.created, true)
      assert.deepEqual(
        [c.job.account, c.job.jobId, c.job.state, c.job.fencingToken, c.job.owner],
        [ACCT, 'scan', 'pending', 0, null],
      )
      assert.deepEqual(Object.keys(c.job).sort(), [
        'account',
        'attempt',
        'createdAt',
        'fencingToken',
        'jobId',
        'lastOutcome',
        'leaseExpiresAt',
        'maxAttempts',
        'owner',
        'runAt',
        'state',
        'updatedAt',
      ])
      assert.equal((await v.jobs.create(ACCT, 'scan')).created, false)
      await rejectsWith(assert, v.jobs.create(ACCT, 'scan', { maxAttempts: 5 }), 'conflict')

      const got = await v.jobs.claimDue(ACCT, 'a', { limit: 10, ttl: 30 })
      assert.deepEqual(
        got.map((j) => [j.jobId, j.fencingToken, j.attempt, j.owner, j.state]),
        [['scan', 1, 1, 'a', 'leased']],
      )
      assert.match(got[0].leaseExpiresAt, RFC3339)
      assert.deepEqual(await v.jobs.claimDue(ACCT, 'b'), [])
      const renewed = await v.jobs.renew(ACCT, 'scan', 'a', 1, { ttl: 60 })
      assert.ok(Date.parse(renewed.leaseExpiresAt) >= Date.parse(got[0].leaseExpiresAt))
      const failed = await v.jobs.release(ACCT, 'scan', 'a', 1, 'failed', { rescheduleAt: PAST })
      assert.deepEqual([failed.state, failed.lastOutcome, failed.runAt], ['pending', 'failed', PAST])
      const again = await v.jobs.claimDue(ACCT, 'b')
      assert.deepEqual(again.map((j) => [j.fencingToken, j.attempt]), [[2, 2]])
      for (const late of [
        () => v.jobs.release(ACCT, 'scan', 'a', 1, 'done'),
        () => v.jobs.renew(ACCT, 'scan', 'a', 1),
      ]) {
        const err = await rejectsWith(assert, late(), 'conflict')
        assert.match(err.message, /job 'scan' of account 'acct'.*stale/)
      }
      const done = await v.jobs.release(ACCT, 'scan', 'b', 2, 'done', {
        rescheduleAt: new Date(Date.UTC(2030, 0, 1)),
      })
      assert.deepEqual([done.state, done.attempt, done.runAt], ['pending', 0, '2030-01-01T00:00:00.000Z'])
      assert.deepEqual(await v.jobs.get(ACCT, 'scan'), done)
      assert.deepEqual(await v.jobs.sweep(ACCT), { released: 0, dead: 0 })
      await rejectsWith(assert, v.jobs.get(ACCT, 'nope'), 'not_found')
    })

    it('refuses bad input naming the field and changes nothing', async () => {
      await v.jobs.create(ACCT, 'j')
      const field = async (p) => (await rejectsWith(assert, p, 'invalid')).field
      assert.equal(await field(v.jobs.claimDue(ACCT, 'a', { ttl: 0 })), 'ttl')
      assert.equal(await field(v.jobs.claimDue(ACCT, 'a', { ttl: 3601 })), 'ttl')
      assert.equal(await field(v.jobs.claimDue(ACCT, 'a', { limit: 0 })), 'limit')
      assert.equal(await field(v.jobs.claimDue(ACCT, 'a', { limit: 101 })), 'limit')
      assert.equal(await field(v.jobs.claimDue(ACCT, 'a b')), 'instance')
      assert.equal(await field(v.jobs.claimDue('../x', 'a')), 'account')
      assert.equal(await field(v.jobs.create(ACCT, 'claim')), 'job_id')
      assert.equal(await field(v.jobs.create(ACCT, 'k', { maxAttempts: 0 })), 'max_attempts')
      assert.equal(await field(v.jobs.create(ACCT, 'k', { runAt: 'tomorrow' })), 'runAt')
      assert.equal(await field(v.jobs.release(ACCT, 'j', 'a', 1, 'maybe')), 'outcome')
      assert.equal(await field(v.jobs.renew(ACCT, 'j', 'a', -1)), 'fencingToken')
      assert.equal(await field(v.jobs.claimDue(ACCT, 'a', { lease: 5 })), 'options')
      const j = await v.jobs.get(ACCT, 'j')
      assert.deepEqual([j.state, j.fencingToken], ['pending', 0])
    })

    it('hands each due job to one of many concurrent claimers and lists by id', async () => {
      const ids = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, '0')}`)
      for (const id of ids) await v.jobs.create('many', id)
      const got = await Promise.all(
        Array.from({ length: 6 }, (_, i) => v.jobs.claimDue('many', `i${i}`, { limit: 3, ttl: 60 })),
      )
      const all = got.flat().map((j) => j.jobId)
      assert.deepEqual([...all].sort(), ids)
      const p1 = await v.jobs.list('many', { limit: 5 })
      assert.deepEqual(p1.map((j) => j.jobId), ids.slice(0, 5))
      const p2 = await v.jobs.list('many', { limit: 100, after: p1.next })
      assert.deepEqual(p2.map((j) => j.jobId), ids.slice(5))
      assert.equal(p2.next, undefined)
    })
  })
}
