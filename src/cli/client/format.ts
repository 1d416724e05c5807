/**
 * How `rhio client` shows messages and objects: readable text by default,
 * one JSON object per line with `--json`.
 */

/** A message as `sub` prints it. */
export interface ShownMessage {
  subject: string
  /** Header names as sent (case kept), each with its values in order. */
  headers: Array<[string, string[]]>
  data: Uint8Array
  /** From a JetStream stream: its name, the stream sequence and the store time. */
  stream?: { name: string; seq: number; time: Date }
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * `s` safe to print on a terminal: control characters (C0 but tab, DEL, C1)
 * shown as `\\xNN`/`\\uNNNN` escapes, so a key, subject or payload chosen by a
 * remote author cannot move the cursor, retitle the window or hide text.
 */
export function printable(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u0008\u000a-\u001f\u007f-\u009f]/g, (c) => {
    const code = c.charCodeAt(0)
    return code < 0x100
      ? `\\x${code.toString(16).padStart(2, '0')}`
      : `\\u${code.toString(16).padStart(4, '0')}`
  })
}

/** The payload as text when it is valid UTF-8 without NUL, else undefined. */
export function payloadText(data: Uint8Array): string | undefined {
  try {
    const text = fatalUtf8.decode(data)
    return text.includes('\0') ? undefined : text
  } catch {
    return undefined
  }
}

/** One JSON line: `{subject, headers, data, encoding, stream?, seq?, time?}`. */
export function messageJson(m: ShownMessage): string {
  const text = payloadText(m.data)
  const body: Record<string, unknown> = {
    subject: m.subject,
    headers: Object.fromEntries(m.headers),
    data: text ?? Buffer.from(m.data).toString('base64'),
    encoding: text === undefined ? 'base64' : 'utf8',
  }
  if (m.stream) {
    body.stream = m.stream.name
    body.seq = m.stream.seq
    body.time = m.stream.time.toISOString()
  }
  return `${JSON.stringify(body)}\n`
}

/**
 * Readable form: the subject (with stream, sequence and time), each header
 * value on its own line, then the payload indented; binary payloads as base64.
 */
export function messageText(m: ShownMessage): string {
  const where = m.stream
    ? `  (${m.stream.name} #${m.stream.seq}, ${m.stream.time.toISOString()})`
    : ''
  const lines = [`${printable(m.subject)}${where}`]
  for (const [name, values] of m.headers) {
    for (const v of values) lines.push(`  ${printable(name)}: ${printable(v)}`)
  }
  const text = payloadText(m.data)
  if (m.data.length === 0) lines.push('  (empty payload)')
  else if (text !== undefined) lines.push(...text.split('\n').map((l) => `  | ${printable(l)}`))
  else {
    lines.push(`  (${m.data.length} bytes, base64) ${Buffer.from(m.data).toString('base64')}`)
  }
  return `${lines.join('\n')}\n\n`
}

/** 1536 → `1.5 KiB`. */
export function humanBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024
    i++
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`
}
