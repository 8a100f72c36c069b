import { describeCorePath } from './core-path.js';

describeCorePath('chromium');
