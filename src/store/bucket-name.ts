/**
 * S3's rules for bucket names (general purpose buckets), so the embedded
 * directory store does not accept a name a later move to S3 would refuse.
 */
export function s3BucketNameProblem(name: string): string | undefined {
  if (name.length < 3 || name.length > 63) return 'must be 3 to 63 characters long'
  if (!/^[a-z0-9.-]+$/.test(name)) {
    return 'may contain only lowercase letters, digits, dots and hyphens'
  }
  if (!/^[a-z0-9]/.test(name) || !/[a-z0-9]$/.test(name)) {
    return 'must begin and end with a letter or digit'
  }
  if (name.includes('..')) return 'must not contain two adjacent dots'
  if (/^\d+\.\d+\.\d+\.\d+$/.test(name)) return 'must not look like an IP address'
  if (/^(xn--|sthree-|amzn-s3-demo-)/.test(name)) return 'must not begin with a reserved prefix'
  if (/(-s3alias|--ol-s3|\.mrap|--x-s3|--table-s3)$/.test(name)) {
    return 'must not end with a reserved suffix'
  }
  return undefined
}
