export { CREDENTIAL_ENV } from './credentials-env.js'
export { DEFAULTS } from './defaults.js'
export { parseHostPort, parseNatsEndpoints, redactUrl } from './endpoints.js'
export { ConfigError, yamlPath } from './issues.js'
export { schemaKeyPaths } from './keys.js'
export { MAX_YAML_ALIASES, MAX_YAML_DEPTH, parseConfigYaml } from './yaml.js'
export {
  NULL_MEANS_ABSENT,
  REMOVED_KEYS,
  dropOptionalNulls,
  splitUnknownKeys,
  type ConfigWarning,
} from './lenient.js'
export {
  checkConfig,
  ENV_KEYS,
  findConfigFile,
  loadConfig,
  parseConfig,
  readConfigFile,
  resolveConfig,
  type CliOverrides,
  type LoadConfigOptions,
  type LoadedConfig,
  type ParseConfigOptions,
} from './load.js'
export { crossEntryViolations, ownKeyViolations, type Violation } from './rules.js'
export { configSchema, type Config, type ConfigData } from './schema.js'
export { subjectCovers, subjectProblem } from './subject.js'
