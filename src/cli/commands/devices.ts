/** `rtc-peer devices`: the cameras and microphones ffmpeg can open, or plainly that there are none. */
import { Command, Option } from 'commander';
import { listDevices, locateFfmpeg, type DeviceInfo } from '../../capture/index.js';
import { ExitCode } from '../exit-codes.js';

/** `rtc-peer devices`; `done` gets its exit code. */
export function devicesCommand(done: (code: Promise<number>) => void): Command {
  return new Command('devices')
    .description('list capture devices (cameras and microphones)')
    .addOption(new Option('--ffmpeg <path>', 'ffmpeg binary to use').env('RTC_PEER_FFMPEG'))
    .option('--json', 'print JSON')
    .addHelpText('after', '\nExamples:\n  rtc-peer devices\n  rtc-peer devices --json')
    .action((flags: { ffmpeg?: string; json?: boolean }) => done(runDevices(flags)));
}

async function runDevices(flags: { ffmpeg?: string; json?: boolean }): Promise<number> {
  const ffmpeg = await locateFfmpeg({ explicit: flags.ffmpeg });
  const devices = await listDevices(ffmpeg.path);
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(devices)}\n`);
    return ExitCode.OK;
  }
  if (devices.video.length === 0)
    process.stdout.write(`no video capture devices found${devices.note ? `: ${devices.note}` : ''}\n`);
  for (const d of devices.video) process.stdout.write(`${formatDevice(d)}\n`);
  if (devices.audio.length === 0)
    process.stdout.write(
      `no audio capture devices found${devices.audioNote ? `: ${devices.audioNote}` : ''}\n`,
    );
  else process.stdout.write('audio (--audio-device):\n');
  for (const d of devices.audio) process.stdout.write(`${formatDevice(d)}\n`);
  return ExitCode.OK;
}

function formatDevice(d: DeviceInfo): string {
  const formats = d.formats && d.formats.length > 0 ? `  [${d.formats.join(', ')}]` : '';
  return `${d.id}${d.name ? `  ${d.name}` : ''}${formats}`;
}
