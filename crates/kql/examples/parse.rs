//! Parses and formats a query read from stdin; a debugging aid for the parser.
use std::io::Read;

fn main() {
    let mut q = String::new();
    std::io::stdin().read_to_string(&mut q).unwrap();
    match kql::parse(&q) {
        Ok(ast) => print!("{}", kql::format_query(&ast)),
        Err(errs) => {
            for e in errs {
                eprint!("{}", e.render(&q, "stdin"));
            }
            std::process::exit(2);
        }
    }
}
