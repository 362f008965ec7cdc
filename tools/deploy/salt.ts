/**
 * Keeps the passphrase provider's `encryptionsalt` out of the committed Pulumi.<env>.yaml.
 *
 * The CLI keeps a passphrase stack's salt in its stack file: `pulumi stack init` (and
 * `stack select --create`) writes `encryptionsalt: v1:...` there, and every command reads it back
 * to derive the key from the passphrase (pulumi pkg/secrets/passphrase/manager.go). With the
 * deploy wrapper's own backend, the passphrase is generated per clone into .pulumi-state/, so that
 * salt belongs to one clone: committed, it would overwrite a teammate's, and a clone whose
 * passphrase it does not match fails with "incorrect passphrase" (pulumi/pulumi issue 17759).
 * So while the wrapper owns the passphrase, the salt lives in .pulumi-state/<env>.encryptionsalt
 * (git-ignored): it goes into the stack file just before the wrapper's Pulumi commands and out
 * again once they end, and a salt already in the file (one `pulumi config set --secret` just
 * wrote) is never overwritten. Nothing here touches git or its config.
 */
import * as fs from "fs";
import * as path from "path";

/** The salt's top-level line, as the CLI writes it (its value may be quoted). */
const LINE = /^encryptionsalt:[ \t]*(?:"([^"\n]*)"|'([^'\n]*)'|([^\s#]+))[ \t]*(?:#[^\n]*)?(?:\n|$)/m;

/** A stack file's text without its salt line, and the salt it had; every other byte stays as it was. */
export function takeSalt(text: string): { readonly text: string; readonly salt?: string } {
    const m = LINE.exec(text);
    if (!m) return { text };
    return { text: text.slice(0, m.index) + text.slice(m.index + m[0].length), salt: m[1] ?? m[2] ?? m[3] };
}

/** A stack file's text with `salt` on a first line, unless it already has one (which its `secure:` values may need). */
export function putSalt(text: string, salt: string): string {
    return LINE.test(text) ? text : `encryptionsalt: ${salt}\n${text}`;
}

/** Where the wrapper keeps a stack's salt, beside its state. */
export function saltFile(state: string, stack: string): string {
    return path.join(state, `${stack}.encryptionsalt`);
}

/** Puts the kept salt into the stack file; returns what puts it back out, to run however the commands end. */
export function lendSalt(stackFile: string, kept: string): () => void {
    const read = (f: string): string | undefined => (fs.existsSync(f) ? fs.readFileSync(f, "utf8") : undefined);
    const salt = read(kept)?.trim();
    const before = read(stackFile);
    if (salt && before !== undefined) {
        const lent = putSalt(before, salt);
        if (lent !== before) fs.writeFileSync(stackFile, lent);
    }
    return () => {
        const text = read(stackFile);
        if (text === undefined) return;
        const taken = takeSalt(text);
        if (taken.salt === undefined) return;
        fs.writeFileSync(kept, `${taken.salt}\n`, { mode: 0o600 });
        fs.writeFileSync(stackFile, taken.text);
    };
}
