// Runs examples/node/chat_client.mjs as a subprocess against a real server: once with the
// server up (fresh settings, key loaded, never printed), once after it stopped (stale settings
// from the encrypted cache file, offline mode).

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'

import { PACKAGE_DIR, REPO_DIR, SECRET, TOKEN, startServer, tmpDir, vault } from './helpers.mjs'

const run = promisify(execFile)
const EXAMPLE_DIR = path.join(REPO_DIR, 'examples', 'node')
const EXAMPLE = path.join(EXAMPLE_DIR, 'chat_client.mjs')

/** What `npm install` in examples/node does for its `file:` dependency: a symlink. */
function linkPackageIntoExamples() {
  const link = path.join(EXAMPLE_DIR, 'node_modules', 'vault-node')
  if (fs.existsSync(path.join(link, 'package.json'))) return
  fs.mkdirSync(path.dirname(link), { recursive: true })
  fs.rmSync(link, { force: true, recursive: true })
  fs.symlinkSync(path.relative(path.dirname(link), PACKAGE_DIR), link, 'dir')
}

describe('examples/node/chat_client.mjs', () => {
  let server
  const scratch = tmpDir('vault-node-example-')
  const cacheFile = path.join(scratch, 'chatty.cache')

  before(async () => {
    assert.ok(fs.existsSync(EXAMPLE), `missing ${EXAMPLE}`)
    assert.match(fs.readFileSync(EXAMPLE, 'utf8').split('\n')[0], /^\/\/ Run/, 'starts with its run command')
    linkPackageIntoExamples()
    server = await startServer()
    const v = await vault.connect(server.url, { token: TOKEN })
    await v.configs.put('chatty', 'default', {
      params: { model: 'gpt-test', temperature: 0.2, systemPrompt: 'Be brief.' },
    })
    await v.credentials.put('OPENAI_API_KEY', SECRET, { service: 'chatty' })
    v.close()
  })

  after(async () => {
    await server?.stop()
    fs.rmSync(scratch, { recursive: true, force: true })
    if (server) fs.rmSync(server.dataDir, { recursive: true, force: true })
  })

  const runExample = async () => {
    const env = { ...process.env, VAULT_URL: server.url, VVAULT_SERVICE_TOKEN: TOKEN, CHAT_CACHE_FILE: cacheFile }
    delete env.LLM_BASE_URL
    delete env.VAULT_DATA
    const { stdout, stderr } = await run(process.execPath, [EXAMPLE, 'Hi there'], { env, cwd: REPO_DIR, timeout: 30_000 })
    assert.ok(!stdout.includes(SECRET) && !stderr.includes(SECRET), 'the key is never printed')
    return stdout
  }

  it('with the server up: fresh settings, key loaded and redacted', async () => {
    const out = await runExample()
    assert.match(out, /^vault: remote$/m)
    assert.match(out, /^settings: model=gpt-test temperature=0\.2 \(version 1, fresh\)$/m)
    assert.match(out, /^llm key: OPENAI_API_KEY version 1 loaded$/m)
    assert.match(out, /value: '\[REDACTED\]'/)
    assert.match(out, /^reply: \(dry run\) would send "Hi there" to gpt-test at temperature 0\.2$/m)
  })

  it('with the server stopped: stale settings from the cache, offline mode', async () => {
    await server.stop()
    const out = await runExample()
    assert.match(out, /^settings: model=gpt-test temperature=0\.2 \(version 1, STALE: last-known-good, vault unreachable\)$/m)
    assert.match(out, /^llm key: unavailable \(unavailable\) -> offline mode$/m)
    assert.match(out, /^reply: \(offline\) /m)
  })
})
