// The conformance suite of docs/protocol.md: runCheck and the reports made from its result.
export { runCheck, resolveCheckOptions, summarize, PROTOCOL_VERSION } from './run.ts';
export { ALL_CASES, SECTION_TITLES, selectCases } from './cases.ts';
export { formatCheckJUnit } from './report-junit.ts';
export { formatCheckMarkdown } from './report-markdown.ts';
export { formatCheckLine, formatCheckText } from './report-text.ts';
export type * from './types.ts';
