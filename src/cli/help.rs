//! `dq help`, `dq completions` and `dq man`: the language reference, shell
//! completions and a man page, all from inside the binary. The reference is
//! `docs/language.md` itself, compiled in, so the two cannot drift.

use std::io::Write;

use clap::CommandFactory;

use super::{usage, Cli};
use crate::Error;

/// The language reference, as shipped in `docs/language.md`.
const LANGUAGE: &str = include_str!("../../docs/language.md");

/// Show help: the language reference, its verbs or functions, one verb or
/// function, or a command's flags.
///
/// Examples:
///
///     dq help language     # the whole language reference
///     dq help verbs        # every verb
///     dq help functions    # every expression form and function
///     dq help join         # one verb or function, or a section (`dq help arrays`)
///     dq help run          # a command's flags (as `dq run --help`)
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct HelpArgs {
    /// What to show; without it, the commands.
    topic: Option<String>,
}

/// Print a completion script for a shell.
///
/// Example:
///
///     dq completions bash > ~/.local/share/bash-completion/completions/dq
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell.
    shell: clap_complete::Shell,
}

/// Print dq's man page (roff) on standard output.
///
/// Example:
///
///     dq man > ~/.local/share/man/man1/dq.1
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {}

/// Runs `dq help [TOPIC]`.
pub fn help(args: &HelpArgs) -> Result<(), Error> {
    let text = match args.topic.as_deref() {
        None => Cli::command().render_long_help().to_string(),
        Some("language") => LANGUAGE.to_string(),
        Some("verbs") => section("Verbs").unwrap_or_default(),
        Some("functions") => section("Expressions").unwrap_or_default(),
        Some(topic) => topic_help(topic)?,
    };
    print(&text)
}

/// The help for a command, a section heading or a verb or function name.
fn topic_help(topic: &str) -> Result<String, Error> {
    let mut cli = Cli::command();
    if let Some(command) = cli.find_subcommand_mut(topic) {
        return Ok(command.render_long_help().to_string());
    }
    if let Some(text) = section(topic) {
        return Ok(text);
    }
    let rows = rows_naming(topic);
    if !rows.is_empty() {
        return Ok(format!("{}\n\nMore: `dq help verbs`, `dq help functions`, `dq help language`.\n", rows.join("\n")));
    }
    let names = known_names();
    let hint = names
        .iter()
        .filter(|n| strsim::osa_distance(n, topic) <= 2)
        .min_by_key(|n| strsim::osa_distance(n, topic))
        .map(|n| format!(" (did you mean `dq help {n}`?)"))
        .unwrap_or_default();
    Err(usage(format!(
        "no help on `{topic}`{hint}: try `dq help verbs`, `dq help functions`, `dq help language` or a command name"
    )))
}

/// The section under a `##` or `###` heading named `title` (any case), up
/// to the next heading of the same or a higher level.
fn section(title: &str) -> Option<String> {
    let lines: Vec<&str> = LANGUAGE.lines().collect();
    let start = lines.iter().position(|l| heading(l).is_some_and(|(_, t)| t.eq_ignore_ascii_case(title)))?;
    let (level, _) = heading(lines[start])?;
    let mut fenced = false;
    let end = lines[start + 1..]
        .iter()
        .position(|l| {
            fenced ^= l.starts_with("```");
            !fenced && heading(l).is_some_and(|(lv, _)| lv <= level)
        })
        .map_or(lines.len(), |i| start + 1 + i);
    Some(lines[start..end].join("\n") + "\n")
}

/// `(level, title)` of a Markdown heading line.
fn heading(line: &str) -> Option<(usize, &str)> {
    let level = line.bytes().take_while(|&b| b == b'#').count();
    (level > 0 && line.as_bytes().get(level) == Some(&b' ')).then(|| (level, line[level..].trim()))
}

/// Table rows of the reference whose first cell names `name` in code
/// (`` `join OTHER on KEYS` ``, `` `abs round(x[, digits]) floor` ``),
/// rendered as `form — meaning`.
fn rows_naming(name: &str) -> Vec<String> {
    table_rows()
        .filter(|(form, _)| names_in(form).any(|n| n == name))
        .map(|(form, meaning)| format!("{form} — {}", meaning.trim_end_matches(" |").trim()))
        .collect()
}

/// The reference's table rows whose first cell is code, outside code
/// blocks, as (first cell, the rest).
fn table_rows() -> impl Iterator<Item = (&'static str, &'static str)> {
    let mut fenced = false;
    LANGUAGE
        .lines()
        .filter(move |l| {
            fenced ^= l.starts_with("```");
            !fenced && l.starts_with("| `")
        })
        .filter_map(|l| l.trim_matches('|').split_once(" | ").map(|(form, rest)| (form.trim(), rest.trim())))
}

/// The identifiers inside the code spans of a table cell.
fn names_in(cell: &str) -> impl Iterator<Item = &str> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .flat_map(|code| code.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with(|c: char| c.is_ascii_lowercase()))
}

/// Every verb and function named in the reference's tables, for "did you mean".
fn known_names() -> Vec<String> {
    let mut names: Vec<String> =
        table_rows().flat_map(|(form, _)| names_in(form).map(str::to_string).collect::<Vec<_>>()).collect();
    names.extend(["language", "verbs", "functions"].map(String::from));
    names.sort();
    names.dedup();
    names
}

/// Runs `dq completions SHELL`.
pub fn completions(args: &CompletionsArgs) -> Result<(), Error> {
    let mut out = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "dq", &mut out);
    print(&String::from_utf8_lossy(&out))
}

/// Runs `dq man`.
pub fn man(_: &ManArgs) -> Result<(), Error> {
    let mut out = Vec::new();
    clap_mangen::Man::new(Cli::command()).render(&mut out).map_err(|e| crate::internal!("man page: {e}"))?;
    print(&String::from_utf8_lossy(&out))
}

fn print(text: &str) -> Result<(), Error> {
    let mut stdout = std::io::stdout().lock();
    stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
        .map_err(|e| crate::io::Error::write("<stdout>", e).into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_end_at_the_next_heading_of_their_level() {
        let verbs = section("verbs").unwrap();
        assert!(verbs.starts_with("## Verbs") && verbs.contains("### Joins"), "{verbs}");
        assert!(!verbs.contains("## Expressions"));
        let joins = section("Joins").unwrap();
        assert!(joins.starts_with("### Joins") && !joins.contains("### Union"), "{joins}");
        assert!(section("no such section").is_none());
    }

    #[test]
    fn a_name_finds_its_table_rows() {
        let filter = rows_naming("filter");
        assert!(filter.iter().any(|r| r.starts_with("`filter EXPR`") && r.contains("keeps rows")), "{filter:?}");
        let round = rows_naming("round");
        assert!(round.iter().any(|r| r.contains("math")), "{round:?}");
        assert!(rows_naming("nosuchthing").is_empty());
        assert!(known_names().contains(&"coalesce".to_string()));
    }
}
