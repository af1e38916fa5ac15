import Ajv from 'ajv';
import schema from '../../src/core/report/report.schema.json';
import type { Report } from '../../src/core/report/report';

const ajv = new Ajv({ allErrors: true, strict: false });
// RFC 3339 date-time, as Date.prototype.toISOString writes it
ajv.addFormat('date-time', /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/);
const validate = ajv.compile(schema);

/** Throws with ajv's messages when a Report does not match the schema shipped in the repository. */
export function assertValidReport(report: Report | unknown): void {
  if (!validate(report)) {
    throw new Error(`report does not match report.schema.json:\n${ajv.errorsText(validate.errors, { separator: '\n' })}`);
  }
}
