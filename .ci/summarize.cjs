// Sums vitest JSON reports into CI's last lines: one line per Node version, each failed test
// named (file, title, the first line of its error) so that the tail of the log says what failed,
// then "N passed, M failed[, K skipped]". Arguments: name=report.json ...
const fs = require('fs');
let passed = 0, failed = 0, skipped = 0;
const failures = [];
for (const arg of process.argv.slice(2)) {
  const [name, file] = arg.split('=');
  if (!fs.existsSync(file)) {
    console.log(`${name}: no report (the suite did not run)`);
    failed++;
    continue;
  }
  const r = JSON.parse(fs.readFileSync(file, 'utf8'));
  const s = r.numPendingTests + r.numTodoTests;
  console.log(`${name}: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${s} skipped`);
  passed += r.numPassedTests; failed += r.numFailedTests; skipped += s;
  for (const f of r.testResults) {
    const path = f.name.replace(/^.*?\/(test\/)/, '$1');
    const tests = f.assertionResults.filter((a) => a.status === 'failed');
    for (const a of tests) failures.push(`  ${name}: ${path} > ${a.fullName}\n      ${firstLine(a.failureMessages)} (${Math.round(a.duration ?? 0)} ms)`);
    // A file that failed outside any test (an import error, a failing hook) has no failed test to name.
    if (f.status === 'failed' && tests.length === 0) failures.push(`  ${name}: ${path}: failed outside its tests: ${firstLine([f.message]) || 'see its log above'}`);
  }
}
if (failures.length) console.log(`failed:\n${failures.join('\n')}`);
console.log(`${passed} passed, ${failed} failed` + (skipped ? `, ${skipped} skipped` : ''));

function firstLine(messages) {
  return String(messages?.[0] ?? '').split('\n')[0].slice(0, 300);
}
