// Embedded opens of a PostgreSQL URL: two workers (two opens, as two processes would) share one
// vault without a server. The test creates its own database (with `psql`) and drops it. Without
// a PostgreSQL server it is skipped with a loud message on stderr, except under CI=true, where it
// fails.

import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'

import { KEY, OTHER_KEY, rejectsWith, vault } from './helpers.mjs'

const DEFAULT_URLS = ['postgres://postgres@127.0.0.1:5432/test', 'postgres://root@127.0.0.1:5432/test']

function psql(url, sql) {
  return spawnSync('psql', ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', url, '-c', sql], {
    encoding: 'utf8',
    timeout: 60_000,
  })
}

/** The admin URL of a server that answers, or the reason none does. */
function findServer() {
  const env = (process.env.VAULT_TEST_POSTGRES_URL ?? '').trim()
  let why = 'no answer'
  for (const url of env ? [env] : DEFAULT_URLS) {
    const r = psql(url, 'select 1')
    if (r.error) return { why: `psql cannot run (${r.error.code})` }
    if (r.status === 0) return { admin: url }
    why = (r.stderr || '').trim().split('\n').pop() || why
  }
  return { why }
}

const found = findServer()
if (!found.admin) {
  const message =
    `SKIPPED PostgreSQL test: no PostgreSQL server answers (${found.why}); start one on ` +
    '127.0.0.1:5432 (trust auth) or set VAULT_TEST_POSTGRES_URL'
  if (process.env.CI === 'true') throw new Error(`CI=true and the PostgreSQL tests cannot run: ${message}`)
  console.error(`\n!!!!!!!! ${message}\n`)
}

describe('embedded PostgreSQL store', { skip: !found.admin && 'no PostgreSQL server' }, () => {
  const name = `vault_test_node_${process.pid}_${randomBytes(4).toString('hex')}`
  let url
  before(() => {
    const r = psql(found.admin, `CREATE DATABASE ${name}`)
    assert.equal(r.status, 0, r.stderr)
    url = `${found.admin.slice(0, found.admin.lastIndexOf('/'))}/${name}`
  })
  after(() => {
    psql(found.admin, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  })

  it('two workers share one vault; compare-and-set holds across them', async () => {
    const a = await vault.open(url, { encryptionKey: KEY })
    const b = await vault.open(url, { encryptionKey: KEY })
    try {
      assert.equal((await a.health()).components.backend, 'postgres')
      assert.equal((await a.credentials.put('API_KEY', 'from-a', { service: 'svc' })).version, 1)
      assert.equal((await b.credentials.get('API_KEY', { service: 'svc' })).value, 'from-a')
      const put = (v, w, n) => w.credentials.put('API_KEY', v, { service: 'svc', expectedVersion: n })
      assert.equal((await put('from-b', b, 1)).version, 2)
      await rejectsWith(assert, put('stale', a, 1), 'conflict')
      assert.equal((await a.credentials.get('API_KEY', { service: 'svc' })).value, 'from-b')
      assert.equal((await a.audit.verify()).valid, true)
      assert.equal((await b.audit.verify()).valid, true)
    } finally {
      await a.close()
      await b.close()
    }
    await rejectsWith(assert, vault.open(url, { encryptionKey: OTHER_KEY }), 'wrong_key')
    await rejectsWith(assert, vault.open(url), 'invalid')
  })
})
