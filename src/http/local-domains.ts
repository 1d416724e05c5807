/**
 * The DNS search domains of this machine (`search` in /etc/resolv.conf). In a
 * Kubernetes pod they are `<namespace>.svc.<cluster domain>`,
 * `svc.<cluster domain>` and `<cluster domain>`, so a Service name under a
 * custom cluster domain (the original's operator reads /health back from
 * `http://<name>.<namespace>.svc.<cluster domain>:8080/health`) is a local
 * name the Host check accepts, as `*.svc` and `*.cluster.local` are.
 */
import { readFileSync } from 'node:fs'

export const RESOLV_CONF = '/etc/resolv.conf'

/** The `search` (or `domain`) names of resolv.conf text, lower-cased, without a final dot. */
export function parseSearchDomains(text: string): string[] {
  const out: string[] = []
  for (const line of text.split('\n')) {
    const words = line
      .replace(/[#;].*$/, '')
      .trim()
      .split(/\s+/)
    const [keyword, ...names] = words
    // the last `search` line wins in glibc; `domain` is its one-name form
    if (keyword === 'search' || keyword === 'domain') out.splice(0, out.length, ...names)
  }
  return out
    .map((n) => n.toLowerCase().replace(/\.$/, ''))
    .filter((n) => n !== '' && n.includes('.') && /^[a-z0-9.-]+$/.test(n))
}

/** parseSearchDomains of `path`; none when it cannot be read. */
export function readSearchDomains(path: string = RESOLV_CONF): string[] {
  try {
    return parseSearchDomains(readFileSync(path, 'utf8'))
  } catch {
    return []
  }
}
