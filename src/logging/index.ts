export { chooseLogFormat, LoggerFactory, type LogFormat, type Logger } from './factory.js'
export { RecentProblems, RECENT_PROBLEMS_MAX, type RecentProblem } from './recent.js'
export { formatLibp2p, libp2pComponentLogger } from './libp2p.js'
export { LOG_LEVELS, parseLogLevel, type LevelPolicy, type LogLevel } from './levels.js'
