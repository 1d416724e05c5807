// Public surface of rhio as a library. Internals are not re-exported.
export { RhioError, hasCode, describeError } from './errors.js'
