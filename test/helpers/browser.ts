/**
 * Headless Chromium for page tests, through playwright-core (which ships no
 * browser: it drives the system's /usr/bin/chromium; .ci/run installs it).
 *
 *   await using b = await launchBrowser()
 *   const page = await b.newPage()
 */
import { existsSync } from 'node:fs'
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core'

export const CHROMIUM_BIN = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium'

/** Flags for a quiet, offline, sandbox-free headless run (CI runs as root). */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

export interface TestBrowser extends AsyncDisposable {
  browser: Browser
  /**
   * A page in a fresh context that records page errors and console errors
   * (a CSP violation is a console error) in `problems`.
   */
  newPage(opts?: BrowserContextOptions): Promise<{ page: Page; problems: string[] }>
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM_BIN)) {
    throw new Error(
      `chromium not found at ${CHROMIUM_BIN}; install it (apt-get install -y chromium) or set CHROMIUM_BIN`,
    )
  }
  const browser = await chromium.launch({ executablePath: CHROMIUM_BIN, args: CHROMIUM_ARGS })
  return {
    browser,
    async newPage(opts = {}) {
      const context = await browser.newContext(opts)
      const page = await context.newPage()
      const problems: string[] = []
      page.on('pageerror', (err) => problems.push(`pageerror: ${err.message}`))
      page.on('console', (msg) => {
        if (msg.type() === 'error') problems.push(`console: ${msg.text()}`)
      })
      return { page, problems }
    },
    async [Symbol.asyncDispose]() {
      await browser.close()
    },
  }
}
