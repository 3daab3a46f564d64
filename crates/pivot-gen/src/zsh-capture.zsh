# Used by the tests: zsh -f zsh-capture.zsh FPATH_DIR "LINE" prints what
# zsh completes for LINE, one match per line.
zmodload zsh/zpty
zpty z zsh -f -i
zpty -w z "PS1=''; fpath=($1 \$fpath); autoload -U compinit; compinit -u -D"
zpty -w z 'bindkey "^I" complete-word; null-line() { echo -E - $'"'"'\0'"'"' }; compprefuncs=(null-line); comppostfuncs=(null-line exit)'
zpty -w z "zstyle ':completion:*' list-grouped false; zstyle ':completion:*' insert-tab false"
zpty -w z 'compadd() { if [[ ${@[1,(i)(-|--)]} == *-(O|A|D)\ * ]]; then builtin compadd "$@"; return $?; fi; typeset -a __hits; builtin compadd -A __hits "$@"; local h; for h in $__hits; do echo -E - "HIT:$h"; done; }'
zpty -w -n z "$2"$'\t'
integer tog=0
while zpty -r z line; do
    [[ $line == *$'\0'* ]] && { (( tog++ )); (( tog == 2 )) && break; continue; }
    (( tog == 1 )) && [[ $line == HIT:* ]] && print -r -- "${${line#HIT:}%$'\r'}"
done
zpty -d z
