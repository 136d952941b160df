// Kusto's own parser (npm @kusto/language-service-next) as a syntax oracle for iochunt's
// tests: reads JSON lines (each a query string) on stdin and prints one JSON line per
// query, {"ok": bool, "diag": "first error"}. Test tooling only, never a runtime part.
require('@kusto/language-service-next/bridge.js');
require('@kusto/language-service-next/Kusto.Language.Bridge.js');

const lines = require('fs').readFileSync(0, 'utf8').split('\n').filter((l) => l.length);
for (const l of lines) {
  const diags = Bridge.toArray(Kusto.Language.KustoCode.Parse(JSON.parse(l)).GetSyntaxDiagnostics());
  const errors = diags.filter((d) => String(d.Severity) === 'Error');
  const diag = errors.length ? `${errors[0].Message} @${errors[0].Start}` : '';
  console.log(JSON.stringify({ ok: errors.length === 0, diag }));
}
