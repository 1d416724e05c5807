/**
 * charts/rhio rendered without Helm (test/helpers/helm-template.ts) and the
 * resulting Kubernetes objects validated: object shapes, names and labels,
 * selectors, container ports against Service targetPorts (the original
 * chart's bug), probes, env from Secrets, volumes, and the ConfigMap's
 * config.yaml loaded by rhio's own config loader with the env the pod gets.
 */
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { parse as parseYaml } from 'yaml'
import { loadConfig } from '../../src/config/index.js'
import { parseDockerfile, stages } from '../helpers/dockerfile.js'
import { renderChart, type RenderedChart } from '../helpers/helm-template.js'
import { tempDir } from '../helpers/tmp.js'

const root = fileURLToPath(new URL('../../../', import.meta.url))
const CHART = join(root, 'charts/rhio')
const KEY = '5f'.repeat(32)

type Obj = Record<string, any> // eslint-disable-line @typescript-eslint/no-explicit-any

const API_VERSION: Record<string, string> = {
  ConfigMap: 'v1',
  Secret: 'v1',
  Service: 'v1',
  PersistentVolumeClaim: 'v1',
  Deployment: 'apps/v1',
  ServiceAccount: 'v1',
}
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/
const DNS_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/

function render(values: Record<string, unknown> = {}, release = 'site-a'): RenderedChart {
  return renderChart(CHART, { values: { secretKey: KEY, ...values }, release: { name: release } })
}

function only(objects: Obj[], kind: string): Obj {
  const found = objects.filter((o) => o.kind === kind)
  assert.equal(found.length, 1, `expected one ${kind}, got ${found.length}`)
  return found[0] as Obj
}

/** The p2p Service (for other sites) and the HTTP Service (inside the cluster). */
function services(objects: Obj[]): { p2p: Obj; http: Obj } {
  const found = objects.filter((o) => o.kind === 'Service')
  assert.equal(found.length, 2, `expected two Services, got ${found.length}`)
  const http = found.find((s) => s.metadata.name.endsWith('-http'))
  const p2p = found.find((s) => s !== http)
  assert.ok(http && p2p, 'a p2p Service and an -http Service')
  return { p2p, http }
}

/** Structural checks every rendered object set must pass. */
function validate(chart: RenderedChart, existingSecrets: Record<string, string[]> = {}): void {
  const objects = chart.objects as Obj[]
  for (const o of objects) {
    const what = `${o.kind} ${o.metadata?.name}`
    assert.equal(o.apiVersion, API_VERSION[o.kind], `${what}: apiVersion`)
    assert.match(o.metadata?.name ?? '', DNS_SUBDOMAIN, `${what}: name`)
    assert.ok(o.metadata.name.length <= 253, `${what}: name too long`)
    for (const [k, v] of Object.entries(o.metadata.labels ?? {})) {
      assert.ok(
        typeof v === 'string' && v.length <= 63 && LABEL_VALUE.test(v),
        `${what}: label ${k}=${v}`,
      )
    }
    assert.equal(o.metadata.labels?.['app.kubernetes.io/instance'], 'site-a', `${what}: labels`)
  }
  const names = objects.map((o) => `${o.kind}/${o.metadata.name}`)
  assert.equal(new Set(names).size, names.length, 'duplicate objects')

  const deploy = only(objects, 'Deployment')
  const svc = services(objects)
  const configMap = only(objects, 'ConfigMap')
  for (const service of [svc.p2p, svc.http]) {
    assert.match(service.metadata.name, DNS_LABEL, 'a Service name is a DNS label')
    assert.ok(service.metadata.name.length <= 63)
  }
  // the HTTP endpoints are unauthenticated: never on the Service other sites reach
  assert.deepEqual(
    (svc.p2p.spec.ports as Obj[]).map((p) => p.name),
    ['p2p'],
  )
  assert.equal(svc.http.spec.type, 'ClusterIP')

  // Selectors.
  const podLabels: Obj = deploy.spec.template.metadata.labels
  const selects = (sel: Obj): boolean => Object.entries(sel).every(([k, v]) => podLabels[k] === v)
  assert.ok(Object.keys(deploy.spec.selector.matchLabels).length > 0)
  assert.ok(selects(deploy.spec.selector.matchLabels), 'Deployment selector matches its pods')
  for (const service of [svc.p2p, svc.http])
    assert.ok(selects(service.spec.selector), 'Service selector matches the pods')

  // One node: one replica, never two at once, time to shut down.
  assert.equal(deploy.spec.replicas, 1)
  assert.equal(deploy.spec.strategy.type, 'Recreate')
  const pod: Obj = deploy.spec.template.spec
  assert.ok(pod.terminationGracePeriodSeconds >= 15, 'rhio needs up to 10 s to stop')
  assert.equal(pod.automountServiceAccountToken, false)

  // The image's user.
  const dockerUser = stages(parseDockerfile(readFileSync(join(root, 'Dockerfile'), 'utf8')))
    .pop()
    ?.instructions.filter((i) => i.keyword === 'USER')
    .pop()?.args
  assert.equal(pod.securityContext.runAsNonRoot, true)
  assert.equal(`${pod.securityContext.runAsUser}:${pod.securityContext.runAsGroup}`, dockerUser)

  // Container ports, Service ports, probes.
  assert.equal(pod.containers.length, 1)
  const c: Obj = pod.containers[0]
  assert.deepEqual(c.args, ['-c', '/etc/rhio/config.yaml'])
  const ports = new Map<string, Obj>()
  for (const p of c.ports as Obj[]) {
    assert.ok(p.name.length <= 15 && DNS_LABEL.test(p.name), `port name ${p.name}`)
    assert.ok(!ports.has(p.name), `duplicate port ${p.name}`)
    assert.ok(Number.isInteger(p.containerPort) && p.containerPort > 0 && p.containerPort < 65536)
    ports.set(p.name, p)
  }
  for (const sp of [...svc.p2p.spec.ports, ...svc.http.spec.ports] as Obj[]) {
    const target = typeof sp.targetPort === 'string' ? ports.get(sp.targetPort) : undefined
    assert.ok(
      target,
      `Service port ${sp.name} targets '${sp.targetPort}', not a container port name`,
    )
    assert.equal(sp.protocol, target.protocol, `Service port ${sp.name} protocol`)
    assert.equal(sp.protocol, 'TCP', 'libp2p and HTTP run over TCP')
  }
  for (const [probe, path] of [
    ['livenessProbe', '/health?probe=live'],
    ['readinessProbe', '/health?probe=ready'],
  ] as const) {
    const get = c[probe]?.httpGet
    assert.ok(get, `${probe} is an HTTP GET`)
    assert.equal(get.path, path)
    assert.ok(ports.has(get.port), `${probe} port '${get.port}' is a container port`)
  }

  // Env: credentials only from Secrets.
  const secrets = new Map<string, string[]>(Object.entries(existingSecrets))
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    secrets.set(s.metadata.name, Object.keys(s.data ?? {}))
    for (const v of Object.values(s.data ?? {})) {
      assert.match(String(v), /^[A-Za-z0-9+/]*=*$/, 'Secret data is base64')
    }
  }
  for (const e of c.env as Obj[]) {
    if (/KEY|PASSWORD|TOKEN|NKEY|SECRET|USERNAME/.test(e.name)) {
      assert.equal(e.value, undefined, `${e.name} must come from a Secret`)
    }
    const ref = e.valueFrom?.secretKeyRef
    if (!ref) continue
    const keys = secrets.get(ref.name)
    assert.ok(keys, `${e.name}: Secret ${ref.name} is neither rendered nor declared existing`)
    assert.ok(keys.includes(ref.key), `${e.name}: Secret ${ref.name} has no key ${ref.key}`)
  }
  assert.ok((c.env as Obj[]).some((e) => e.name === 'PRIVATE_KEY' && e.valueFrom?.secretKeyRef))

  // Volumes and mounts.
  const volumes = new Map<string, Obj>((pod.volumes as Obj[]).map((v) => [v.name, v]))
  for (const m of c.volumeMounts as Obj[])
    assert.ok(volumes.has(m.name), `mount ${m.name} has a volume`)
  const configVolume = volumes.get('config')
  assert.equal(configVolume?.configMap?.name, configMap.metadata.name)
  assert.ok(
    (c.volumeMounts as Obj[]).some((m) => m.name === 'config' && m.mountPath === '/etc/rhio'),
  )
  const claim = volumes.get('data')?.persistentVolumeClaim?.claimName
  if (claim !== undefined) {
    const rendered = objects.some(
      (o) => o.kind === 'PersistentVolumeClaim' && o.metadata.name === claim,
    )
    assert.ok(
      rendered || claim === (chart.values as Obj).persistence?.existingClaim,
      `claim ${claim}`,
    )
  }

  // The config: no credentials, ports and data_dir agree with the pod.
  const text: string = configMap.data['config.yaml']
  assert.doesNotMatch(text, /credentials|password|secret_key|token|nkey/i)
  const config = parseYaml(text) as Obj
  assert.equal(config.bind_port, ports.get('p2p')?.containerPort)
  assert.equal(config.http_bind_port, ports.get('http')?.containerPort)
  const dataMount = (c.volumeMounts as Obj[]).find((m) => m.name === 'data')
  assert.equal(config.data_dir, dataMount?.mountPath)
}

/** Loads the ConfigMap's config.yaml with rhio's loader and the env the pod would get. */
async function loadRendered(
  chart: RenderedChart,
  secretValues: Record<string, Record<string, string>>,
) {
  const objects = chart.objects as Obj[]
  const text: string = only(objects, 'ConfigMap').data['config.yaml']
  const c: Obj = only(objects, 'Deployment').spec.template.spec.containers[0]
  const env: Record<string, string> = {}
  for (const s of objects.filter((o) => o.kind === 'Secret')) {
    secretValues[s.metadata.name] = Object.fromEntries(
      Object.entries(s.data as Record<string, string>).map(([k, v]) => [
        k,
        Buffer.from(v, 'base64').toString(),
      ]),
    )
  }
  for (const e of c.env as Obj[]) {
    const ref = e.valueFrom?.secretKeyRef
    env[e.name] = ref ? (secretValues[ref.name]?.[ref.key] ?? '') : e.value
  }
  await using dir = await tempDir()
  const file = join(dir.path, 'config.yaml')
  await writeFile(file, text)
  return { loaded: loadConfig({ path: file, env, cwd: dir.path }), env }
}

describe('Helm chart charts/rhio', () => {
  it('Chart.yaml: apiVersion v2, appVersion is the package version', () => {
    const chart = parseYaml(readFileSync(join(CHART, 'Chart.yaml'), 'utf8')) as Obj
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as Obj
    assert.equal(chart.apiVersion, 'v2')
    assert.equal(chart.name, 'rhio')
    assert.equal(chart.appVersion, pkg.version)
  })

  it('defaults with a key: ConfigMap, Secret, Service, Deployment that pass the checks', async () => {
    const chart = render()
    validate(chart)
    assert.deepEqual(chart.objects.map((o) => o.kind).sort(), [
      'ConfigMap',
      'Deployment',
      'Secret',
      'Service',
      'Service',
    ])
    const secret = only(chart.objects, 'Secret')
    assert.equal(secret.metadata.name, 'site-a-rhio-key')
    assert.equal(Buffer.from(secret.data.secretKey, 'base64').toString(), KEY)
    const { p2p: service, http } = services(chart.objects)
    assert.equal(service.spec.type, 'ClusterIP')
    assert.equal(service.spec.publishNotReadyAddresses, true)
    assert.deepEqual(
      [...service.spec.ports, ...http.spec.ports].map((p: Obj) => [
        p.name,
        p.port,
        p.targetPort,
        p.protocol,
      ]),
      [
        ['p2p', 9102, 'p2p', 'TCP'],
        ['http', 8080, 'http', 'TCP'],
      ],
    )
    const data = only(chart.objects, 'Deployment').spec.template.spec.volumes.find(
      (v: Obj) => v.name === 'data',
    )
    assert.deepEqual(data, { name: 'data', emptyDir: {} })

    const { loaded, env } = await loadRendered(chart, {})
    assert.equal(env.PRIVATE_KEY, KEY)
    assert.equal(loaded.config.bind_port, 9102)
    assert.equal(loaded.config.http_bind_port, 8080)
    assert.equal(loaded.config.data_dir, '/var/lib/rhio/data')
    assert.match(chart.files.get('NOTES.txt') ?? '', /port-forward svc\/site-a-rhio-http 8080/)
  })

  it('an existing key Secret replaces the generated one; no key at all fails to render', () => {
    const chart = render({ secretKey: '', privateKeySecret: { name: 'rhio-key', key: 'hex' } })
    validate(chart, { 'rhio-key': ['hex'] })
    assert.equal(chart.objects.filter((o) => o.kind === 'Secret').length, 0)
    const env = only(chart.objects, 'Deployment').spec.template.spec.containers[0].env
    assert.deepEqual(env[0].valueFrom.secretKeyRef, { name: 'rhio-key', key: 'hex' })
    assert.throws(() => render({ secretKey: '' }), /the node needs a key: set secretKey/)
  })

  it('NATS and S3 credentials come from Secrets into env, and rhio loads them', async () => {
    const chart = render({
      natsCredentials: { secretName: 'nats-creds', type: 'userPassword' },
      s3Credentials: { secretName: 's3-creds' },
      configuration: {
        nats: { endpoint: 'nats://nats.site-a:4222' },
        s3: { endpoint: 'http://minio:9000', region: 'eu-central-1' },
        publish: { s3_buckets: ['outbox'] },
      },
    })
    validate(chart, {
      'nats-creds': ['username', 'password'],
      's3-creds': ['access_key', 'secret_key'],
    })
    const { loaded } = await loadRendered(chart, {
      'nats-creds': { username: 'rhio', password: 'pw' },
      's3-creds': { access_key: 'AK', secret_key: 'SK' },
    })
    assert.deepEqual(loaded.config.nats.credentials, { username: 'rhio', password: 'pw' })
    assert.equal(loaded.config.s3?.credentials.access_key, 'AK')
    assert.equal(loaded.config.s3?.credentials.secret_key, 'SK')
    assert.deepEqual(loaded.config.publish.s3_buckets, ['outbox'])

    for (const [type, key, envName] of [
      ['token', 'token', 'RHIO_NATS_TOKEN'],
      ['nkey', 'nkey', 'RHIO_NATS_NKEY'],
    ] as const) {
      const c = render({ natsCredentials: { secretName: 'n', type } })
      validate(c, { n: [key] })
      const env = only(c.objects, 'Deployment').spec.template.spec.containers[0].env as Obj[]
      assert.deepEqual(
        env
          .filter((e) => e.name.startsWith('RHIO_NATS_'))
          .map((e) => [e.name, e.valueFrom.secretKeyRef.key]),
        [[envName, key]],
      )
    }
    assert.throws(
      () => render({ natsCredentials: { secretName: 'n', type: 'jwt' } }),
      /natsCredentials\.type must be/,
    )
  })

  it('refuses credentials in the ConfigMap, and S3 without a credentials Secret', () => {
    assert.throws(
      () => render({ configuration: { nats: { credentials: { token: 't' } } } }),
      /configuration\.nats\.credentials must not be set/,
    )
    assert.throws(
      () =>
        render({
          configuration: {
            s3: {
              endpoint: 'http://m',
              region: 'r',
              credentials: { access_key: 'a', secret_key: 'b' },
            },
          },
          s3Credentials: { secretName: 's' },
        }),
      /configuration\.s3\.credentials must not be set/,
    )
    assert.throws(
      () => render({ configuration: { s3: { endpoint: 'http://m', region: 'r' } } }),
      /name the Secret holding access_key and secret_key in s3Credentials\.secretName/,
    )
  })

  it('persistence: a PVC (or an existing claim) for data_dir', () => {
    const chart = render({ persistence: { enabled: true, size: '5Gi', storageClass: 'fast' } })
    validate(chart)
    const pvc = only(chart.objects, 'PersistentVolumeClaim')
    assert.equal(pvc.metadata.name, 'site-a-rhio-data')
    assert.deepEqual(pvc.spec.accessModes, ['ReadWriteOnce'])
    assert.equal(pvc.spec.resources.requests.storage, '5Gi')
    assert.equal(pvc.spec.storageClassName, 'fast')
    const vol = only(chart.objects, 'Deployment').spec.template.spec.volumes.find(
      (v: Obj) => v.name === 'data',
    )
    assert.equal(vol.persistentVolumeClaim.claimName, 'site-a-rhio-data')

    const existing = render({ persistence: { enabled: true, existingClaim: 'rhio-state' } })
    validate(existing)
    assert.equal(existing.objects.filter((o) => o.kind === 'PersistentVolumeClaim').length, 0)
    const v2 = only(existing.objects, 'Deployment').spec.template.spec.volumes.find(
      (v: Obj) => v.name === 'data',
    )
    assert.equal(v2.persistentVolumeClaim.claimName, 'rhio-state')
  })

  it('ports follow the configuration; NodePort takes fixed node ports', () => {
    const chart = render({
      configuration: { bind_port: 19102, http_bind_port: 3000 },
      service: { type: 'NodePort', nodePorts: { p2p: 30912 } },
    })
    validate(chart)
    const { p2p, http } = services(chart.objects)
    assert.deepEqual(
      [...p2p.spec.ports, ...http.spec.ports].map((p: Obj) => [p.name, p.port, p.nodePort]),
      [
        ['p2p', 19102, 30912],
        ['http', 3000, undefined],
      ],
    )
    const clusterIp = render({ service: { nodePorts: { p2p: 30912 } } })
    assert.ok(
      (services(clusterIp.objects).p2p.spec.ports as Obj[]).every((p) => p.nodePort === undefined),
    )
  })

  it('names: release name reuse, overrides, and the config checksum rolls the pod', () => {
    assert.equal(only(render({}, 'rhio').objects, 'Deployment').metadata.name, 'rhio')
    assert.equal(
      services(render({ fullnameOverride: 'edge-node' }).objects).p2p.metadata.name,
      'edge-node',
    )
    const sum = (c: RenderedChart): string =>
      only(c.objects, 'Deployment').spec.template.metadata.annotations['checksum/config']
    assert.match(sum(render()), /^[0-9a-f]{64}$/)
    assert.equal(sum(render()), sum(render()))
    assert.notEqual(sum(render()), sum(render({ configuration: { network_id: 'other' } })))
  })

  it('extras: pod labels and annotations, pull secrets, scheduling, extra env', () => {
    const chart = render({
      podLabels: { team: 'edge' },
      podAnnotations: { 'prometheus.io/scrape': 'true' },
      imagePullSecrets: [{ name: 'regcred' }],
      nodeSelector: { site: 'a' },
      tolerations: [{ key: 'edge', operator: 'Exists' }],
      extraEnv: [{ name: 'RHIO_LOG_FORMAT', value: 'pretty' }],
      image: { repository: 'registry.example/rhio', tag: '1.2.3' },
    })
    validate(chart)
    const pod = only(chart.objects, 'Deployment').spec.template
    assert.equal(pod.metadata.labels.team, 'edge')
    assert.equal(pod.metadata.annotations['prometheus.io/scrape'], 'true')
    assert.deepEqual(pod.spec.imagePullSecrets, [{ name: 'regcred' }])
    assert.deepEqual(pod.spec.nodeSelector, { site: 'a' })
    assert.equal(pod.spec.tolerations.length, 1)
    assert.equal(pod.spec.containers[0].image, 'registry.example/rhio:1.2.3')
    assert.ok((pod.spec.containers[0].env as Obj[]).some((e) => e.name === 'RHIO_LOG_FORMAT'))
  })

  describe("the original rhio chart's values.yaml (issue 18)", () => {
    const ORIGINAL = parseYaml(
      readFileSync(join(root, 'test/fixtures/original-deployments/chart-values.yaml'), 'utf8'),
    ) as Obj
    /** The original's values as a user has them: its defaults plus the node key. */
    const original = (extra: Obj = {}): Obj => ({
      ...structuredClone(ORIGINAL),
      secretKey: KEY,
      ...extra,
    })

    it('renders, passes the checks, and its configuration loads with nothing ignored', async () => {
      const chart = renderChart(CHART, { values: original(), release: { name: 'site-a' } })
      validate(chart)
      assert.deepEqual(chart.objects.map((o) => o.kind).sort(), [
        'ConfigMap',
        'Deployment',
        'Secret',
        'Service',
        'Service',
        'ServiceAccount',
      ])
      const pod = only(chart.objects, 'Deployment').spec.template.spec
      const c = pod.containers[0]
      assert.match(c.image, /^rhio:\d+\.\d+\.\d+/, "image.repository '' is rhio")
      // the probes keep the original's timings, with the chart's own request (one httpGet)
      assert.deepEqual(c.livenessProbe, {
        httpGet: { path: '/health?probe=live', port: 'http' },
        initialDelaySeconds: 5,
        periodSeconds: 10,
        timeoutSeconds: 5,
        failureThreshold: 3,
      })
      assert.equal(c.readinessProbe.httpGet.path, '/health?probe=ready')
      const sa = only(chart.objects, 'ServiceAccount')
      assert.equal(pod.serviceAccountName, sa.metadata.name)
      assert.equal(sa.automountServiceAccountToken, true)
      assert.equal(pod.automountServiceAccountToken, false, 'the pod never mounts it')
      const { p2p } = services(chart.objects)
      assert.equal(p2p.spec.type, 'ClusterIP')
      assert.deepEqual(
        p2p.spec.ports.map((p: Obj) => [p.port, p.protocol]),
        [[9102, 'TCP']],
      )
      const { loaded } = await loadRendered(chart, {})
      assert.deepEqual(loaded.warnings, [])
      assert.equal(loaded.config.network_id, 'rhio-default-network-1')
      assert.equal(loaded.config.log_level, '=INFO')
    })

    it('services.type and services.network.nodePort are aliases', () => {
      const chart = renderChart(CHART, {
        values: original({
          services: {
            type: 'NodePort',
            network: { port: 9102, nodePort: 31001 },
            health: { port: 8080 },
          },
        }),
      })
      validate(chart)
      const { p2p } = services(chart.objects)
      assert.equal(p2p.spec.type, 'NodePort')
      assert.equal(p2p.spec.ports[0].nodePort, 31001)
    })

    it('an old value that disagrees with the new key fails with a message naming both', () => {
      const cases: Array<[Obj, RegExp]> = [
        [{ replicaCount: 2 }, /replicaCount \(original chart\) must be 1/],
        [
          { services: { type: 'ClusterIP', network: { port: 9103 }, health: { port: 8080 } } },
          /services\.network\.port \(original chart\) is configuration\.bind_port/,
        ],
        [
          { services: { type: 'ClusterIP', network: { port: 9102 }, health: { port: 3000 } } },
          /services\.health\.port \(original chart\) is configuration\.http_bind_port/,
        ],
      ]
      for (const [values, message] of cases) {
        assert.throws(() => renderChart(CHART, { values: original(values) }), message)
      }
      // the same values are fine once the new key says the same
      validate(
        renderChart(CHART, {
          values: original({
            services: { type: 'ClusterIP', network: { port: 9103 }, health: { port: 8080 } },
            configuration: { ...ORIGINAL.configuration, bind_port: 9103 },
          }),
        }),
      )
    })
  })
})
