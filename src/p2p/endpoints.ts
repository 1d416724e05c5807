/**
 * `nodes[].endpoints` → dialable multiaddrs. Accepts `ip:port`, `[ipv6]:port`,
 * `host:port` (resolved through DNS every time it is dialled, so Kubernetes
 * service names that only resolve once the peer is up work) and raw multiaddrs
 * starting with `/`.
 */
import { lookup } from 'node:dns/promises'
import { isIP } from 'node:net'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'

export type Resolver = (host: string) => Promise<string[]>

export const systemResolver: Resolver = async (host) =>
  (await lookup(host, { all: true })).map((a) => a.address)

export interface ParsedEndpoint {
  host: string
  port: number
}

export function parseEndpoint(ep: string): ParsedEndpoint | undefined {
  const v6 = /^\[([^\]]+)\]:(\d+)$/.exec(ep)
  const plain = /^([^:[\]\s/]+):(\d+)$/.exec(ep)
  const m = v6 ?? plain
  if (!m) return undefined
  const port = Number(m[2])
  if (!Number.isInteger(port) || port < 1 || port > 65535) return undefined
  return { host: m[1]!, port }
}

function ipMultiaddr(ip: string, port: number, peer: PeerId): Multiaddr {
  const proto = isIP(ip) === 6 ? 'ip6' : 'ip4'
  return multiaddr(`/${proto}/${ip}/tcp/${port}/p2p/${peer.toString()}`)
}

/**
 * An `announce_addresses` entry as the multiaddr other nodes learn for this node:
 * `ip:port` → /ip4|ip6/…/tcp/…, `host:port` → /dns/host/tcp/… (resolved by whoever
 * dials it), a raw multiaddr as given. A missing port means 9102.
 */
export function announceMultiaddr(ep: string): string {
  if (ep.startsWith('/')) return multiaddr(ep).toString()
  const parsed = parseEndpoint(ep) ?? parseEndpoint(`${ep}:9102`)
  if (!parsed) throw new Error(`${ep}: not host:port`)
  const kind = isIP(parsed.host)
  const proto = kind === 6 ? 'ip6' : kind === 4 ? 'ip4' : 'dns'
  return `/${proto}/${parsed.host}/tcp/${parsed.port}`
}

/** Resolves endpoints into multiaddrs that include the expected peer id. */
export async function resolveEndpoints(
  endpoints: readonly string[],
  peer: PeerId,
  resolve: Resolver = systemResolver,
): Promise<{ addrs: Multiaddr[]; errors: string[] }> {
  const addrs: Multiaddr[] = []
  const errors: string[] = []
  for (const ep of endpoints) {
    if (ep.startsWith('/')) {
      try {
        const ma = multiaddr(ep)
        addrs.push(ep.includes('/p2p/') ? ma : ma.encapsulate(`/p2p/${peer.toString()}`))
      } catch (err) {
        errors.push(`${ep}: ${(err as Error).message}`)
      }
      continue
    }
    const parsed = parseEndpoint(ep)
    if (!parsed) {
      errors.push(`${ep}: not host:port`)
      continue
    }
    if (isIP(parsed.host)) {
      addrs.push(ipMultiaddr(parsed.host, parsed.port, peer))
      continue
    }
    try {
      for (const ip of await resolve(parsed.host)) addrs.push(ipMultiaddr(ip, parsed.port, peer))
    } catch (err) {
      errors.push(`${ep}: ${(err as Error).message}`)
    }
  }
  return { addrs, errors }
}
