// Starts `iomtflow designer --port 0` for a test and stops it again. The binary comes from
// $IOMTFLOW (set by CTest, tests/browser/tests.cmake); the shared folder from $IOMT_SHARED_DIR.
import { spawn } from "node:child_process";

export async function startDesigner(extraArgs = []) {
  const binary = process.env.IOMTFLOW;
  if (!binary) throw new Error("IOMTFLOW (the iomtflow binary) is not set");
  const child = spawn(binary, ["designer", "--port", "0", "--listen", "127.0.0.1", ...extraArgs], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (d) => (stderr += d));
  const url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`iomtflow designer did not start in 15 s: ${out}${stderr}`)), 15_000);
    child.stdout.on("data", (d) => {
      out += d;
      const m = /iomtflow designer: (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`iomtflow designer exited with ${code}: ${out}${stderr}`));
    });
  });
  return {
    url,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

export const workshopDir = () =>
  `${process.env.IOMT_SHARED_DIR ?? "../shared"}/vectors/azure-health-data-services-workshop/Challenge-09 - MedTech service/SampleData`;
