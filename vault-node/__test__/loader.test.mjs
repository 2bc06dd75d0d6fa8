// Which addon the package loads: the tests run the debug build in VAULT_NODE_ADDON_DIR
// (`npm run build:debug` writes build/debug/), never the release build next to index.js, and a
// VAULT_NODE_ADDON_DIR without a build is an error, not a silent fallback to the release build.

import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import { describe, it } from 'node:test'
import { promisify } from 'node:util'

import { PACKAGE_DIR, tmpDir, vault } from './helpers.mjs'

const run = promisify(execFile)
const require = createRequire(import.meta.url)

/** The native addons (`*.node`) this process has loaded. */
function loadedAddons() {
  return Object.keys(require.cache).filter((f) => f.endsWith('.node'))
}

/** Runs `node -e script` in the package directory with `env` added; `{ code, stdout, stderr }`. */
async function node(script, env) {
  const childEnv = { ...process.env, ...env }
  for (const [k, v] of Object.entries(childEnv)) if (v === undefined) delete childEnv[k]
  try {
    const { stdout, stderr } = await run(process.execPath, ['-e', script], { cwd: PACKAGE_DIR, env: childEnv })
    return { code: 0, stdout, stderr }
  } catch (err) {
    return { code: err.code, stdout: err.stdout, stderr: err.stderr }
  }
}

const PRINT_ADDONS = "require('.'); console.log(JSON.stringify(Object.keys(require.cache).filter((f) => f.endsWith('.node'))))"

describe('addon loading', () => {
  it('the tests run the addon in VAULT_NODE_ADDON_DIR, not the release build', (t) => {
    const dir = process.env.VAULT_NODE_ADDON_DIR
    if (!dir) return t.skip('VAULT_NODE_ADDON_DIR is not set (run through `npm test` or scripts/test-node.sh)')
    assert.equal(typeof vault.open, 'function')
    const addons = loadedAddons()
    assert.equal(addons.length, 1, `one addon loaded: ${addons}`)
    assert.equal(path.dirname(addons[0]), path.resolve(dir))
  })

  it('a relative VAULT_NODE_ADDON_DIR is taken from the current directory', async (t) => {
    const dir = process.env.VAULT_NODE_ADDON_DIR
    if (!dir) return t.skip('VAULT_NODE_ADDON_DIR is not set')
    const rel = path.relative(PACKAGE_DIR, dir)
    const r = await node(PRINT_ADDONS, { VAULT_NODE_ADDON_DIR: rel })
    assert.equal(r.code, 0, r.stderr)
    const [addon] = JSON.parse(r.stdout)
    assert.equal(path.dirname(addon), path.resolve(dir))
  })

  it('a VAULT_NODE_ADDON_DIR without a build throws, naming the variable; no fallback', async () => {
    const empty = tmpDir('vault-node-noaddon-')
    try {
      const r = await node(PRINT_ADDONS, { VAULT_NODE_ADDON_DIR: empty })
      assert.notEqual(r.code, 0, `require must fail, printed ${r.stdout}`)
      assert.match(r.stderr, /VAULT_NODE_ADDON_DIR/)
      assert.match(r.stderr, /build:debug/)
      assert.equal(r.stdout, '', 'no addon was loaded')
    } finally {
      fs.rmSync(empty, { recursive: true, force: true })
    }
  })

  it('without VAULT_NODE_ADDON_DIR the release build next to index.js loads', async (t) => {
    if (!fs.existsSync(path.join(PACKAGE_DIR, 'native.js'))) return t.skip('no release build (`npm run build`)')
    const r = await node(PRINT_ADDONS, { VAULT_NODE_ADDON_DIR: undefined })
    assert.equal(r.code, 0, r.stderr)
    const [addon] = JSON.parse(r.stdout)
    assert.equal(path.dirname(addon), PACKAGE_DIR)
  })

  it('the debug build is not in the npm package', async (t) => {
    if (!fs.existsSync(path.join(PACKAGE_DIR, 'build'))) return t.skip('no debug build')
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: PACKAGE_DIR })
    const files = JSON.parse(stdout)[0].files.map((f) => f.path)
    assert.ok(files.includes('index.js'), files.join(' '))
    assert.deepEqual(files.filter((f) => f.startsWith('build')), [])
  })
})
