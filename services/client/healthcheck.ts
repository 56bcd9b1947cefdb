import { probe } from '../shared/healthcheck.js';

process.exitCode = await probe(8080, '/readyz');
