import { artifactBackends } from '../support/artifact-backends.js';
import { describeCli } from './cli-cases.js';

describeCli(...artifactBackends('cli')[0]!);
