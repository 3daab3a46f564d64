//! bash, zsh and fish completions: clap_complete's scripts for every
//! command and flag, plus container IDs where a command takes one: what
//! `pivot --root DIR list -q` prints for the `--root` on the command line
//! (`pivot list -q`, with pivot's own default, without one).

use clap::Command;
use clap_complete::{generate, Shell};

/// Subcommands that take a container ID, with the ID's index among their
/// positional arguments.
pub fn id_commands(cmd: &Command) -> Vec<(String, usize)> {
    crate::man::visible_subcommands(cmd)
        .filter_map(|sub| {
            sub.get_positionals()
                .position(|a| a.get_id() == "id")
                .map(|i| (sub.get_name().to_string(), i))
        })
        .collect()
}

/// The flags of `cmd` that take a value, as typed (`--bundle`, `-b`).
fn value_flags(cmd: &Command) -> Vec<String> {
    let mut v = vec![];
    for a in cmd.get_arguments().filter(|a| !a.is_positional()) {
        if !a.get_num_args().is_some_and(|n| n.takes_values()) && !a.get_action().takes_values() {
            continue;
        }
        v.extend(
            a.get_long_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|l| format!("--{l}")),
        );
        v.extend(
            a.get_short_and_visible_aliases()
                .into_iter()
                .flatten()
                .map(|s| format!("-{s}")),
        );
    }
    v
}

fn clap_script(shell: Shell) -> String {
    let mut cmd = crate::command();
    let mut buf = Vec::new();
    generate(shell, &mut cmd, "pivot", &mut buf);
    String::from_utf8(buf).expect("clap_complete writes UTF-8")
}

fn bash() -> String {
    let cmd = crate::command();
    let mut s = clap_script(Shell::Bash);
    let mut pats: Vec<String> = value_flags(&cmd)
        .iter()
        .map(|f| format!("\" {f}\""))
        .collect();
    for sub in crate::man::visible_subcommands(&cmd) {
        pats.extend(
            value_flags(sub)
                .iter()
                .map(|f| format!("\"{} {f}\"", sub.get_name())),
        );
    }
    let ids: Vec<String> = id_commands(&cmd)
        .iter()
        .map(|(c, i)| format!("{c}:{i}"))
        .collect();
    s.push_str(&format!(
        r#"
# Whether flag $2 of command $1 ("" before the command) takes a value.
_pivot_takes_value() {{
    case "$1 $2" in
    {pats}) return 0 ;;
    esac
    return 1
}}

# Container IDs: `pivot list -q` for the --root on the command line
# (pivot's own default without one).
_pivot_container_ids() {{
    local root= i
    for ((i = 1; i < COMP_CWORD; i++)); do
        case ${{COMP_WORDS[i]}} in
        --root)
            root=${{COMP_WORDS[i + 1]}}
            [[ $root == = ]] && root=${{COMP_WORDS[i + 2]}}
            ;;
        --root=*) root=${{COMP_WORDS[i]#--root=}} ;;
        esac
    done
    local args=()
    [[ -n $root ]] && args=(--root "$root")
    pivot "${{args[@]}}" list -q 2>/dev/null
}}

# clap's completion, and container IDs where a command takes one.
_pivot_with_ids() {{
    _pivot "$@"
    local cur=${{COMP_WORDS[COMP_CWORD]}} cmd= n=0 i w
    [[ $cur == -* ]] && return 0
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${{COMP_WORDS[i]}}
        if _pivot_takes_value "$cmd" "$w"; then
            # its value, also when typed as --flag=value
            ((i++))
            [[ ${{COMP_WORDS[i]}} == = ]] && ((i++))
        elif [[ $w == -* ]]; then
            :
        elif [[ -z $cmd ]]; then
            cmd=$w
        else
            ((n++))
        fi
    done
    # i is past COMP_CWORD when the current word is a flag's value
    ((i == COMP_CWORD)) || return 0
    case "$cmd:$n" in
    {ids})
        local IFS=$'\n'
        COMPREPLY=($(compgen -W "$(_pivot_container_ids)" -- "$cur"))
        ;;
    esac
}}

complete -F _pivot_with_ids -o bashdefault -o default pivot
"#,
        pats = pats.join(" | "),
        ids = ids.join(" | "),
    ));
    s
}

fn zsh() -> String {
    let s = clap_script(Shell::Zsh);
    let n = s.matches("':id:_default'").count();
    assert!(
        n > 0,
        "clap_complete's zsh script has no ':id:_default' to complete container IDs"
    );
    let s = s.replace("':id:_default'", "':id:_pivot_container_ids'");
    let helper = r#"
# Container IDs: `pivot list -q` for the --root on the command line.
_pivot_container_ids() {
    local -a root
    local w prev
    for w in ${(z)BUFFER}; do
        [[ $prev == --root ]] && root=(--root ${(Q)w})
        [[ $w == --root=* ]] && root=(--root ${(Q)${w#--root=}})
        prev=$w
    done
    local -a ids
    ids=(${(f)"$(_call_program container-ids pivot ${(q)root} list -q 2>/dev/null)"})
    _describe -t container-ids 'container ID' ids
}
"#;
    // After the #compdef line, so that it is defined when the file is
    // autoloaded as _pivot.
    let (first, rest) = s.split_once('\n').expect("a #compdef line");
    format!("{first}\n{helper}{rest}")
}

fn fish() -> String {
    let cmd = crate::command();
    let mut s = clap_script(Shell::Fish);
    s.push_str(
        r#"
# Container IDs: `pivot list -q` for the --root on the command line.
function __fish_pivot_container_ids
    set -l tokens (commandline -opc)
    set -l root
    for i in (seq (count $tokens))
        switch $tokens[$i]
            case --root
                set -l next (math $i + 1)
                test $next -le (count $tokens); and set root --root $tokens[$next]
            case '--root=*'
                set root --root (string replace -- --root= '' $tokens[$i])
        end
    end
    pivot $root list -q 2>/dev/null
end
"#,
    );
    for (name, _) in id_commands(&cmd) {
        s.push_str(&format!(
            "complete -c pivot -n \"__fish_pivot_using_subcommand {name}\" -f -a \"(__fish_pivot_container_ids)\" -d 'container'\n"
        ));
    }
    s
}

/// (file name, script): pivot.bash, _pivot (zsh), pivot.fish.
pub fn scripts() -> Vec<(String, Vec<u8>)> {
    vec![
        ("pivot.bash".into(), bash().into_bytes()),
        ("_pivot".into(), zsh().into_bytes()),
        ("pivot.fish".into(), fish().into_bytes()),
    ]
}
