import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

/**
 * Debian's Chromium, driven by playwright-core (no browser download works here). The background
 * networking flags keep Chromium from calling out to Google's hosts, which this machine refuses.
 */
export const CHROMIUM_LAUNCH: LaunchOptions = {
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
  ],
};

export function launchChromium(): Promise<Browser> {
  return chromium.launch(CHROMIUM_LAUNCH);
}
