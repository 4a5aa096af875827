// How each shell runs a script file. Scripts are written to a file rather than passed with -c,
// so any size and any characters work, and parameters reach the script only as environment.
export type Shell = 'sh' | 'bash' | 'pwsh' | 'powershell' | 'cmd';

export type ShellCommand = { command: string; args: string[]; extension: string };

export function shellCommand(shell: Shell, scriptFile: string): ShellCommand {
  switch (shell) {
    case 'sh':
      return { command: 'sh', args: [scriptFile], extension: '.sh' };
    case 'bash':
      return { command: 'bash', args: [scriptFile], extension: '.sh' };
    case 'pwsh':
      return {
        command: 'pwsh',
        args: ['-NoProfile', '-NonInteractive', '-File', scriptFile],
        extension: '.ps1',
      };
    case 'powershell':
      return {
        command: 'powershell.exe',
        args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-File', scriptFile],
        extension: '.ps1',
      };
    case 'cmd':
      return { command: 'cmd.exe', args: ['/d', '/s', '/c', scriptFile], extension: '.cmd' };
    default: {
      const never: never = shell;
      throw new Error(`unknown shell ${String(never)}`);
    }
  }
}

export function scriptExtension(shell: Shell): string {
  return shellCommand(shell, 'x').extension;
}
