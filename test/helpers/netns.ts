/**
 * A small internet in network namespaces, for NAT traversal tests: a
 * "public" namespace (where a relay runs, at 198.18.0.1) and two sites, each
 * a host namespace behind its own NAT router namespace (nftables masquerade
 * on the router's WAN side):
 *
 *   site a 198.19.1.2 ─ router a (NAT 198.18.1.2) ─┐
 *                                                 public 198.18.0.1 (+ .1.1, .2.1)
 *   site b 198.19.2.2 ─ router b (NAT 198.18.2.2) ─┘
 *
 * Neither site can reach the other's address: the public namespace has no
 * route to the sites' LANs, so the only way between them is through the
 * public namespace, as between two NATed sites on the internet. Every
 * namespace also has a management link to the test's own namespace (a /30 in
 * 198.19.128.0/17) where its NATS, S3 and HTTP listen, so the test can reach
 * them; nothing routes between management links. All addresses come from
 * 198.18.0.0/15 (RFC 2544 benchmarking); names carry a random id so runs do
 * not collide, and `dispose` removes every namespace and link, also after a
 * failed setup.
 *
 * `strict`: the routers also drop every new inbound connection on the WAN
 * side (endpoint-dependent filtering: nothing gets in but replies to what a
 * site sent, per mapping), so hole punching cannot work.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const run = promisify(execFile)

async function sh(cmd: string, args: string[], input?: string): Promise<string> {
  if (input === undefined) return (await run(cmd, args)).stdout
  return new Promise((resolve, reject) => {
    const p = execFile(cmd, args, (err, stdout, stderr) =>
      err
        ? reject(new Error(`${cmd} ${args.join(' ')}: ${stderr || err.message}`))
        : resolve(stdout),
    )
    p.stdin?.end(input)
  })
}

export interface NatSite {
  /** The host namespace (where NATS, S3 and rhio run). */
  ns: string
  router: string
  /** The site's LAN address (rhio's p2p port binds here). */
  lanIp: string
  /** The router's public (NAT) address: what others see the site as. */
  natIp: string
  /** Management address in the site namespace (NATS, S3, HTTP listen here; the test reaches it). */
  mgmtIp: string
}

export interface NatTopologyOptions {
  strict?: boolean
}

export class NatTopology implements AsyncDisposable {
  readonly pub: { ns: string; publicIp: string; mgmtIp: string }
  readonly a: NatSite
  readonly b: NatSite
  private readonly made: string[] = []

  private constructor(
    readonly id: string,
    mgmtNet: number,
  ) {
    const p = `rh${id}`
    const mgmt = (k: number, side: 1 | 2): string => `198.19.${mgmtNet}.${4 * k + side}`
    this.pub = { ns: `${p}pub`, publicIp: '198.18.0.1', mgmtIp: mgmt(0, 2) }
    const site = (n: 1 | 2, name: string): NatSite => ({
      ns: `${p}${name}`,
      router: `${p}r${name}`,
      lanIp: `198.19.${n}.2`,
      natIp: `198.18.${n}.2`,
      mgmtIp: mgmt(n, 2),
    })
    this.a = site(1, 'a')
    this.b = site(2, 'b')
  }

  static async create(opts: NatTopologyOptions = {}): Promise<NatTopology> {
    // a management /24 no address of this machine is in yet
    const used = await sh('ip', ['-o', '-4', 'addr', 'show'])
    let net = 0
    for (let i = 0; i < 64 && net === 0; i++) {
      const n = 128 + (randomBytes(1)[0]! % 127)
      if (!used.includes(`198.19.${n}.`)) net = n
    }
    if (net === 0) throw new Error('no free management subnet in 198.19.128.0/17')
    const t = new NatTopology(randomBytes(2).toString('hex'), net)
    try {
      await t.build(opts)
    } catch (err) {
      await t[Symbol.asyncDispose]()
      throw err
    }
    return t
  }

  private async ns(name: string): Promise<void> {
    await sh('ip', ['netns', 'add', name])
    this.made.push(name)
    await sh('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
  }

  /** A veth pair between two namespaces (undefined: the test's own), addresses with prefixes. */
  private async link(
    a: { ns?: string; dev: string; addr: string },
    b: { ns?: string; dev: string; addr: string },
  ): Promise<void> {
    await sh('ip', [
      'link',
      'add',
      a.dev,
      ...(a.ns ? ['netns', a.ns] : []),
      'type',
      'veth',
      'peer',
      'name',
      b.dev,
      ...(b.ns ? ['netns', b.ns] : []),
    ])
    for (const end of [a, b]) {
      const n = end.ns ? ['-n', end.ns] : []
      await sh('ip', [...n, 'addr', 'add', end.addr, 'dev', end.dev])
      await sh('ip', [...n, 'link', 'set', end.dev, 'up'])
    }
  }

  private async build(opts: NatTopologyOptions): Promise<void> {
    const p = `rh${this.id}`
    const { pub } = this
    await this.ns(pub.ns)
    await sh('ip', ['-n', pub.ns, 'addr', 'add', `${pub.publicIp}/32`, 'dev', 'lo'])
    const mgmtPrefix = pub.mgmtIp.replace(/\.\d+$/, '')
    const mgmtBase = Number(pub.mgmtIp.split('.')[3]) - 2
    await this.link(
      { dev: `${p}m0`, addr: `${mgmtPrefix}.${mgmtBase + 1}/30` },
      { ns: pub.ns, dev: `${p}n0`, addr: `${pub.mgmtIp}/30` },
    )
    for (const [k, s] of [
      [1, this.a],
      [2, this.b],
    ] as const) {
      await this.ns(s.router)
      await this.ns(s.ns)
      // router WAN ↔ public
      await this.link(
        { ns: pub.ns, dev: `${p}p${k}`, addr: `198.18.${k}.1/24` },
        { ns: s.router, dev: `${p}w${k}`, addr: `${s.natIp}/24` },
      )
      await sh('ip', ['-n', s.router, 'route', 'add', 'default', 'via', `198.18.${k}.1`])
      // router LAN ↔ site host
      await this.link(
        { ns: s.router, dev: `${p}l${k}`, addr: `198.19.${k}.1/24` },
        { ns: s.ns, dev: `${p}h${k}`, addr: `${s.lanIp}/24` },
      )
      await sh('ip', ['-n', s.ns, 'route', 'add', 'default', 'via', `198.19.${k}.1`])
      // management link of the site host
      await this.link(
        { dev: `${p}m${k}`, addr: `${mgmtPrefix}.${mgmtBase + 4 * k + 1}/30` },
        { ns: s.ns, dev: `${p}n${k}`, addr: `${s.mgmtIp}/30` },
      )
      await sh('ip', ['netns', 'exec', s.router, 'sysctl', '-qw', 'net.ipv4.ip_forward=1'])
      const wan = `${p}w${k}`
      await sh(
        'ip',
        ['netns', 'exec', s.router, 'nft', '-f', '-'],
        [
          'table ip nat {',
          '  chain postrouting {',
          '    type nat hook postrouting priority srcnat; policy accept;',
          `    oifname "${wan}" masquerade`,
          '  }',
          '}',
          ...(opts.strict
            ? [
                'table ip filter {',
                '  chain forward {',
                '    type filter hook forward priority filter; policy accept;',
                `    iifname "${wan}" ct state new drop`,
                '  }',
                '  chain input {',
                '    type filter hook input priority filter; policy accept;',
                `    iifname "${wan}" ct state new drop`,
                '  }',
                '}',
              ]
            : []),
          '',
        ].join('\n'),
      )
    }
  }

  /** Runs a command in a namespace and returns its output. */
  exec(ns: string, cmd: string, args: string[]): Promise<string> {
    return sh('ip', ['netns', 'exec', ns, cmd, ...args])
  }

  /** Removes every namespace (and with them every link) this topology made. */
  async [Symbol.asyncDispose](): Promise<void> {
    for (const ns of this.made.splice(0).reverse()) {
      await sh('ip', ['netns', 'del', ns]).catch(() => {})
    }
    // the management ends in this namespace go with their peers; make sure
    for (const k of [0, 1, 2]) await sh('ip', ['link', 'del', `rh${this.id}m${k}`]).catch(() => {})
  }
}
