import { Etcd3 } from "etcd3";
const c = new Etcd3({ hosts: "http://127.0.0.1:23790" });
for (let i = 0; i < 300; i++) await c.put(`/p/${String(i).padStart(4,"0")}`).value(Buffer.alloc(20*1024, 1));
try { const r = await c.getAll().prefix("/p/").buffers(); console.log("ok", Object.keys(r).length); } catch (e) { console.log("err", (e as Error).name, (e as Error).message); }
try { const r = await c.kv.range({key: Buffer.from("/p/"), range_end: Buffer.from("/p0"), limit: 1000}); console.log("ok2", r.kvs.length); } catch (e) { console.log("err", (e as Error).name, (e as Error).message); }
c.close();
