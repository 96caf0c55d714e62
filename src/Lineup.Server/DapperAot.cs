// Dapper's calls are compiled at build time (Dapper.AOT's interceptors) rather than by Dapper's run-time IL emitter,
// which loaded System.Linq.Expressions and System.Private.Xml and JIT-compiled a reader per query shape: memory
// every process paid (issue 17). Dapper.AOT does not read CommandDefinition, so a call that passes a CancellationToken
// that way still runs through Dapper itself; the single-node paths use the plain overloads.
[module: Dapper.DapperAot]
