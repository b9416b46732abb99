#!/usr/bin/env bash
# Commits the digest's state (issue records, the seen ledger, send ledgers) and pushes it to the branch,
# rebasing and retrying when someone pushed in between. The workflow's jobs run on fresh machines, so
# anything not pushed here is lost; a rebase is safe because every issue writes its own record and ledger
# files, and the workflow's concurrency group keeps two digest runs from writing the shared ones at once.
#
# Usage: scripts/commit-state.sh MESSAGE PATH...
#
# Environment:
#   BRANCH         branch to push to (default: $GITHUB_REF_NAME)
#   REMOTE         remote to push to (default: origin)
#   DIGEST_LOG     a file holding the digest CLI's stdout; its `issue=<id>` line names the issue
#   PUSH_ATTEMPTS  pushes to try before giving up (default: 5)
#   PUSH_BACKOFF   seconds to wait after the first rejected push, doubled each time (default: 2)
#   GITHUB_OUTPUT, GITHUB_STEP_SUMMARY   set by Actions; written to when present
#
# Prints (and writes to $GITHUB_OUTPUT):  issue=<id or empty>  committed=true|false  sha=<HEAD after push>
# Exit 0 when the state is pushed or there was nothing to commit; 1 when the push failed for good (the
# message says why); 2 on wrong usage.
set -euo pipefail

die() { printf 'commit-state: %s\n' "$1" >&2; exit "${2:-1}"; }

[ $# -ge 2 ] || die 'usage: commit-state.sh MESSAGE PATH...' 2
message=$1
shift

branch=${BRANCH:-${GITHUB_REF_NAME:-}}
[ -n "$branch" ] || die 'BRANCH (or GITHUB_REF_NAME) is not set: cannot tell where to push' 2
remote=${REMOTE:-origin}
attempts=${PUSH_ATTEMPTS:-5}
backoff=${PUSH_BACKOFF:-2}

# The CLI prints `issue=<id>` when it made an issue (and `nothing new` when it did not). Ids are file-name
# safe by construction; anything else on that line is ignored rather than passed on to $GITHUB_OUTPUT.
issue=''
if [ -n "${DIGEST_LOG:-}" ] && [ -f "$DIGEST_LOG" ]; then
  issue=$(sed -n 's/^issue=\([A-Za-z0-9._-]\{1,\}\)[[:space:]]*$/\1/p' "$DIGEST_LOG" | tail -n 1)
fi

# Runners have no git identity; commits made by the workflow are attributed to the Actions bot.
git config user.name >/dev/null || git config user.name 'github-actions[bot]'
git config user.email >/dev/null || git config user.email '41898282+github-actions[bot]@users.noreply.github.com'

# `git add` fails on a pathspec that matches nothing; a path may be missing (no send ledger yet) or
# deleted (then it is still tracked and the deletion is committed).
paths=()
for p in "$@"; do
  if [ -e "$p" ] || [ -n "$(git ls-files -- "$p")" ]; then paths+=("$p"); fi
done

committed=false
if [ ${#paths[@]} -gt 0 ]; then
  git add --all -- "${paths[@]}"
fi
if ! git diff --cached --quiet; then
  git commit -q -m "$message${issue:+ ($issue)}"
  committed=true
  attempt=1
  wait=$backoff
  until git push -q "$remote" "HEAD:refs/heads/$branch"; do
    if [ "$attempt" -ge "$attempts" ]; then
      die "push to $remote/$branch still rejected after $attempts attempts (if the branch is protected, allow the workflow to push to it); the state commit $(git rev-parse --short HEAD) is lost with this runner: re-run the job (the digest resumes from its ledgers)"
    fi
    attempt=$((attempt + 1))
    printf 'commit-state: push rejected, rebasing on %s/%s and retrying (attempt %s of %s)\n' "$remote" "$branch" "$attempt" "$attempts" >&2
    sleep "$wait"
    wait=$((wait * 2))
    git fetch -q "$remote" "$branch"
    if ! git rebase -q FETCH_HEAD; then
      conflicted=$(git diff --name-only --diff-filter=U | tr '\n' ' ')
      git rebase --abort || true
      die "rebase on $remote/$branch conflicted in: ${conflicted:-?}(someone else changed the same digest state); merge by hand, then re-run"
    fi
  done
fi

sha=$(git rev-parse HEAD)
out="issue=$issue
committed=$committed
sha=$sha"
printf '%s\n' "$out"
if [ -n "${GITHUB_OUTPUT:-}" ]; then printf '%s\n' "$out" >>"$GITHUB_OUTPUT"; fi
if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  if [ "$committed" = true ]; then
    # shellcheck disable=SC2016 # the backticks are Markdown, not a command substitution
    printf -- '- State committed to `%s`: %s\n' "$branch" "$sha" >>"$GITHUB_STEP_SUMMARY"
  else
    printf -- '- State unchanged: nothing to commit\n' >>"$GITHUB_STEP_SUMMARY"
  fi
fi
