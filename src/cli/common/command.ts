/**
 * commander's Command with rhio's "did you mean" for mistyped commands and
 * subcommands: `rhio stauts` (commander said "too many arguments"), `rhio
 * client publish` (commander found nothing close to `pub`). Subcommands made
 * with `.command()` are of this class too.
 */
import { Command } from 'commander'
import { didYouMean } from './suggest.js'

export class RhioCommand extends Command {
  override createCommand(name?: string): Command {
    return new RhioCommand(name)
  }

  /** Called by commander for an unknown subcommand name (replaces its own suggestion). */
  unknownCommand(): never {
    const name = String(this.args[0] ?? '')
    const candidates = this.commands.flatMap((c) => [c.name(), ...c.aliases()])
    this.error(`error: unknown command '${name}'${didYouMean(name, candidates)}`, {
      code: 'commander.unknownCommand',
    })
  }

  /**
   * Called by commander when a command takes fewer arguments than given. For
   * a command with subcommands (`rhio` runs a node, so it has an action) the
   * first word was meant as a subcommand.
   */
  _excessArguments(received: string[]): void {
    if (this.commands.length > 0 && received.length > 0) this.unknownCommand()
    const expected = this.registeredArguments.length
    const forSub = this.parent ? ` for '${this.name()}'` : ''
    this.error(
      `error: too many arguments${forSub}. Expected ${expected} argument${expected === 1 ? '' : 's'} but got ${received.length}.`,
      { code: 'commander.excessArguments' },
    )
  }
}
