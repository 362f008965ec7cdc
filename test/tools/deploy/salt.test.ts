import { strict as assert } from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { lendSalt, putSalt, saltFile, takeSalt } from "../../../tools/deploy/salt";
import { ROOT } from "../../harness";

const SALT = "v1:Dx5Rk0aeOXc=:v1:bC1zDkBGjVnsdN1l:Ya1t8bJQWlbB5DA1s4X8IEwDbcxmGQ==";

describe("the passphrase salt, kept out of the committed stack file", () => {
    const dev = fs.readFileSync(path.join(ROOT, "Pulumi.dev.yaml"), "utf8");

    it("the committed stack files carry no salt", () => {
        for (const env of ["dev", "staging", "prod"]) {
            const text = fs.readFileSync(path.join(ROOT, `Pulumi.${env}.yaml`), "utf8");
            assert.equal(takeSalt(text).salt, undefined, `Pulumi.${env}.yaml`);
        }
    });

    it("takes the salt the CLI wrote out of a stack file, keeping its comments and config as they were", () => {
        const written = `encryptionsalt: ${SALT}\n${dev}`;
        assert.deepEqual(takeSalt(written), { text: dev, salt: SALT });
        assert.deepEqual(takeSalt(dev), { text: dev });
        assert.equal(takeSalt(putSalt(dev, SALT)).text, dev);
    });

    it("finds the salt line wherever the CLI put it and however it quoted it, never a nested key", () => {
        assert.deepEqual(takeSalt('config:\n  a: b\nencryptionsalt: "v1:x="\n'), { text: "config:\n  a: b\n", salt: "v1:x=" });
        assert.deepEqual(takeSalt("encryptionsalt: 'v1:y'\nconfig: {}\n"), { text: "config: {}\n", salt: "v1:y" });
        assert.deepEqual(takeSalt("config:\n  encryptionsalt: mine\n"), { text: "config:\n  encryptionsalt: mine\n" });
        assert.deepEqual(takeSalt("config: {}\nencryptionsalt: v1:z"), { text: "config: {}\n", salt: "v1:z" });
        assert.deepEqual(takeSalt("encryptionsalt: v1:z # this clone's\nconfig: {}\n"), { text: "config: {}\n", salt: "v1:z" });
    });

    it("never replaces a salt already in the file: its secure values were encrypted with it", () => {
        const other = `encryptionsalt: v1:other\n${dev}`;
        assert.equal(putSalt(other, SALT), other);
        assert.equal(takeSalt(putSalt(dev, SALT)).salt, SALT);
    });

    it("lends the kept salt to the stack file for a run and takes it back, whatever the run wrote", () => {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), "salt-"));
        try {
            const stackFile = path.join(dir, "Pulumi.dev.yaml");
            const kept = saltFile(path.join(dir, ".pulumi-state"), "dev");
            fs.mkdirSync(path.dirname(kept));
            fs.writeFileSync(stackFile, dev);
            // The first run: no salt kept yet; the CLI writes one during the run.
            let back = lendSalt(stackFile, kept);
            assert.equal(fs.readFileSync(stackFile, "utf8"), dev);
            fs.writeFileSync(stackFile, `encryptionsalt: ${SALT}\n${dev}`);
            back();
            assert.equal(fs.readFileSync(stackFile, "utf8"), dev, "the committed file is as it was");
            assert.equal(fs.readFileSync(kept, "utf8"), `${SALT}\n`);
            assert.equal(fs.statSync(kept).mode & 0o777, 0o600);
            // The next run: the salt is in the file while Pulumi runs, and out again after.
            back = lendSalt(stackFile, kept);
            assert.equal(takeSalt(fs.readFileSync(stackFile, "utf8")).salt, SALT);
            back();
            assert.equal(fs.readFileSync(stackFile, "utf8"), dev);
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });
});
