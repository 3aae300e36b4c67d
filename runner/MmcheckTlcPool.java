/*
 * A long-lived JVM that runs TLC and the PlusCal translator many times (runner/jvmpool.py
 * starts it, compiles it once with the JDK's javac, and is the only user of its protocol).
 *
 * A run either gets a fresh class loader over tla2tools.jar whose parent is the platform
 * loader, so every TLC class, and with it all of TLC's static state, is new for the run; or,
 * with REUSE > 0, it runs in a loader shared with up to REUSE - 1 runs before it, its
 * classes loaded and JIT-compiled already, whose static state (see Reused) is put back before
 * each run to what it was when the loader was new (bench/bench_pool.py: 0.22 s of CPU per
 * short run against 0.66 s in a fresh loader and 0.90 s on a JVM of its own, every run
 * deciding the same, its trace included).  A run does
 * what tlc2.TLC.main of TLC 2.15 does (handleParameters, checkEnvironment, the resolver of
 * the spec's directory, process, EC.ExitStatus.errorConstantToExitStatus) without its
 * System.exit, so only the bundled jar is run here (runner/jvmpool.py checks it).
 *
 * Protocol, on stdin and stdout (stderr is stdout):
 *   argv: JAR MARK [REUSE]   MARK: a random string of the caller's; REUSE: runs per shared
 *                            loader (0 or absent: a fresh loader for every run)
 *   out:  MARK ready         once started
 *   in:   CLASS \t DIR \t ARG \t ...  one run: CLASS tlc2.TLC or pcal.trans (the PlusCal
 *                            translator, see pcal()), DIR its working directory (TLC's user
 *                            dir), ARGs the tool's
 *   out:  the tool's output, then MARK exit CODE [retire]  on a line of its own
 * A run that leaves a thread running (other than an idle executor worker, which is ended:
 * see endIdleExecutor), or that threw, retires the JVM: it says so on its MARK line and
 * exits, so that nothing of that run can touch the next.  A run whose TLC calls
 * System.exit ends the JVM with that code, as it would end a JVM of its own.  End of stdin
 * ends the JVM.
 */
import java.io.BufferedOutputStream;
import java.io.BufferedReader;
import java.io.File;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.io.IOException;
import java.io.OutputStream;
import java.lang.reflect.Array;
import java.lang.reflect.Field;
import java.lang.reflect.Modifier;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.management.MBeanServer;
import javax.management.ObjectName;

public final class MmcheckTlcPool {
    private static PrintStream out;
    private static volatile OutputStream sink;
    /** MMCHECK_POOL_TRACE=FILE: which loader each run got, appended to FILE. */
    private static final PrintStream TRACE = trace(System.getenv("MMCHECK_POOL_TRACE"));

    private static PrintStream trace(String file) {
        try {
            return file == null || file.isEmpty() ? null
                    : new PrintStream(new FileOutputStream(file, true), true, "UTF-8");
        } catch (IOException e) {
            return null;
        }
    }

    private static int reuse;

    public static void main(String[] argv) throws Exception {
        URL jar = new File(argv[0]).toURI().toURL();
        String mark = argv[1];
        reuse = argv.length > 2 ? Integer.parseInt(argv[2]) : 0;
        // As the JVM makes System.out: line-flushed through a small buffer.
        out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 128), true);
        sink = out;
        // TLC keeps System.out in static fields (ToolIO.out): a gate that a shared loader's
        // making closes (anything its initializers print is not a run's output).
        PrintStream gate = new PrintStream(new OutputStream() {
            @Override public void write(int b) throws IOException { sink.write(b); }
            @Override public void write(byte[] b, int off, int len) throws IOException { sink.write(b, off, len); }
            @Override public void flush() throws IOException { sink.flush(); }
        }, true);
        System.setOut(gate);
        System.setErr(gate);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        out.println(mark + " ready");
        String line;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
            String[] fields = line.split("\t", -1);
            boolean retire = run(jar, fields[0], fields[1], Arrays.copyOfRange(fields, 2, fields.length));
            out.println(mark + " exit " + code + (retire ? " retire" : ""));
            out.flush();
            if (retire) {
                break;
            }
        }
        System.exit(0);
    }

    private static int code;

    /** The shared loader (null: none yet, or retired after its last run). */
    private static Reused shared;

    /** One TLC run in a thread group of its own, in the shared loader or a fresh one; true:
     *  retire the JVM. */
    private static boolean run(URL jar, String mainClass, String dir, String[] args) throws Exception {
        ThreadGroup group = new ThreadGroup("mmcheck-run");
        Reused reused = null;
        boolean pcal = mainClass.equals(PCAL);
        if (reuse > 0 && (pcal || Reused.fits(dir, args))) {
            if (shared == null) {
                shared = Reused.start(jar);  // null: this JVM cannot reuse one
                if (shared == null) {
                    reuse = 0;
                }
            }
            if (shared != null && (pcal || shared.fitsWords(dir, args))) {
                try {
                    shared.restore();
                    reused = shared;
                } catch (RuntimeException e) {  // not put back: not used again
                    if (TRACE != null) {
                        TRACE.println("mmcheck-pool: shared loader not put back: " + e);
                    }
                    shared.loader.close();
                    shared = null;
                }
            }
        }
        if (TRACE != null) {
            TRACE.println("mmcheck-pool: " + (reused != null ? "shared loader, run " + (reused.runs + 1)
                    : "fresh loader") + ": " + mainClass + " " + String.join(" ", args));
        }
        URLClassLoader loader = reused != null ? reused.loader
                : new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader());
        Throwable[] thrown = new Throwable[1];
        Thread main = new Thread(group, () -> {
            try {
                code = pcal ? pcal(loader, dir, args) : tlc(loader, dir, args);
            } catch (InvocationTargetException e) {
                thrown[0] = e.getCause();
            } catch (Throwable e) {
                thrown[0] = e;
            }
        }, "main");
        main.setContextClassLoader(loader);
        main.start();
        main.join();
        if (thrown[0] != null) {  // as the JVM reports an exception that ends main
            out.print("Exception in thread \"main\" ");
            thrown[0].printStackTrace(out);
            code = 1;
        }
        out.flush();
        unregisterBeans();
        boolean left = false;
        Thread[] threads = new Thread[group.activeCount() + 16];
        int n = group.enumerate(threads);
        for (int i = 0; i < n; i++) {
            // The JDK's common fork-join pool outlives every run; its idle workers are not TLC's.
            if (!threads[i].getName().startsWith("ForkJoinPool.commonPool-worker")) {
                endIdleExecutor(threads[i]);
                threads[i].join(2000);
                left |= threads[i].isAlive();
            }
        }
        if (reused == null) {
            loader.close();
        } else if (thrown[0] != null || left || !reused.clean() || ++reused.runs >= reuse) {
            shared = null;  // its next run gets a new shared loader (or the JVM retires below)
            reused.loader.close();
        }
        return thrown[0] != null || left;
    }

    /**
     * A worker of an executor that the run made and did not shut down, waiting for a task
     * that can only come through that executor, which nothing but the worker still reaches:
     * TLC 2.15's LiveWorker.printTrace makes one for every liveness violation it prints.
     * Shut that executor down, so that the worker ends instead of retiring the JVM (which
     * cost every liveness violation a new JVM and a 2 s wait).  Needs the JVM's
     * --add-opens of java.lang and java.util.concurrent (runner/jvmpool.py gives them);
     * without them, or for any other thread, nothing is done and the thread counts as left.
     */
    private static void endIdleExecutor(Thread t) {
        boolean idle = false;
        for (StackTraceElement e : t.getStackTrace()) {
            idle |= e.getClassName().equals("java.util.concurrent.ThreadPoolExecutor")
                    && e.getMethodName().equals("getTask");
        }
        if (!idle) {
            return;
        }
        try {
            Field target = Thread.class.getDeclaredField("target");
            target.setAccessible(true);
            Object worker = target.get(t);
            if (worker == null || !worker.getClass().getName().equals("java.util.concurrent.ThreadPoolExecutor$Worker")) {
                return;
            }
            Field outer = worker.getClass().getDeclaredField("this$0");
            outer.setAccessible(true);
            java.util.concurrent.ThreadPoolExecutor executor = (java.util.concurrent.ThreadPoolExecutor) outer.get(worker);
            if (executor.getActiveCount() == 0 && executor.getQueue().isEmpty()) {
                executor.shutdown();
            }
        } catch (ReflectiveOperationException | RuntimeException e) {  // not opened: left
            if (TRACE != null) {
                TRACE.println("mmcheck-pool: idle executor of " + t.getName() + " not shut down: " + e);
            }
        }
    }

    /** TLC registers its statistics as platform MBeans: a new run registers them again. */
    private static void unregisterBeans() throws Exception {
        MBeanServer beans = ManagementFactory.getPlatformMBeanServer();
        for (ObjectName name : beans.queryNames(new ObjectName("tlc2*:*"), null)) {
            beans.unregisterMBean(name);
        }
    }

    static final String PCAL = "pcal.trans";

    /**
     * pcal.trans.main of TLC 2.15 (version 1.9 of the translator), returning the status that
     * main would exit with.  main exits the JVM even on success unless ToolIO is in TOOL
     * mode; in that mode the translator keeps its messages, printed here after it, and does
     * not print its version line.  It opens its file relative to the JVM's directory: a
     * relative one is made absolute against the run's.  ToolIO's mode and messages are
     * static state that a shared loader puts back (Reused).
     */
    private static int pcal(ClassLoader loader, String dir, String[] args) throws Exception {
        Class<?> toolIO = Class.forName("util.ToolIO", true, loader);
        toolIO.getMethod("setUserDir", String.class).invoke(null, dir);
        toolIO.getMethod("setMode", int.class).invoke(null, toolIO.getField("TOOL").getInt(null));
        toolIO.getMethod("reset").invoke(null);
        String[] absolute = args.clone();
        if (absolute.length > 0 && !new File(absolute[absolute.length - 1]).isAbsolute()) {
            absolute[absolute.length - 1] = new File(dir, absolute[absolute.length - 1]).getPath();
        }
        try {
            Method runMe = Class.forName("pcal.trans", true, loader).getMethod("runMe", String[].class);
            runMe.setAccessible(true);  // a public method of a class that is not
            return (Integer) runMe.invoke(null, (Object) absolute) & 0xff;  // as System.exit's
        } finally {
            for (String m : (String[]) toolIO.getMethod("getAllMessages").invoke(null)) {
                out.println(m);
            }
        }
    }

    /** tlc2.TLC.main of TLC 2.15, returning the exit status instead of exiting. */
    private static int tlc(ClassLoader loader, String dir, String[] args) throws Exception {
        Class.forName("util.ToolIO", true, loader).getMethod("setUserDir", String.class).invoke(null, dir);
        Class<?> tlcClass = Class.forName("tlc2.TLC", true, loader);
        Object tlc = tlcClass.getConstructor().newInstance();
        if (!(Boolean) tlcClass.getMethod("handleParameters", String[].class).invoke(tlc, (Object) args)) {
            return 1;
        }
        Method check = tlcClass.getDeclaredMethod("checkEnvironment");
        check.setAccessible(true);
        if (!(Boolean) check.invoke(tlc)) {
            return 1;
        }
        // main's MailSender sends nothing unless the JVM has a mail address property: none here.
        String mainFile = (String) tlcClass.getMethod("getMainFile").invoke(tlc);
        String specDir = (String) Class.forName("util.FileUtil", true, loader)
                .getMethod("parseDirname", String.class).invoke(null, mainFile);
        Class<?> simple = Class.forName("util.SimpleFilenameToStream", true, loader);
        Object resolver = specDir.isEmpty() ? simple.getConstructor().newInstance()
                : simple.getConstructor(String.class).newInstance(specDir);
        tlcClass.getMethod("setResolver", Class.forName("util.FilenameToStream", true, loader))
                .invoke(tlc, resolver);
        int errorCode = (Integer) tlcClass.getMethod("process").invoke(tlc);
        return (Integer) Class.forName("tlc2.output.EC$ExitStatus", true, loader)
                .getMethod("errorConstantToExitStatus", int.class).invoke(null, errorCode);
    }

    /**
     * A class loader over the jar shared by several runs, and what its static state was when
     * it was new.  The reset list, each item with why:
     *
     * 1. Every class of tla2sany, tlc2, util and pcal (the translator; SANY validates with
     *    it) is initialized when the loader is made (initAll), before its first run: so no
     *    class initializer runs during a run, none interns a string in the middle of one
     *    (see 3), and all static state exists to be recorded.  The classes whose
     *    initializer reads an option of the run (ModelChecker, Worker, Spec, Value,
     *    ActionItemList read `-coverage` into static finals) would keep the first run's
     *    option: runs with -coverage get a fresh loader (fits).
     * 2. Every static field that is not final (TLCGlobals' options, mainChecker and simulator,
     *    TLC.traceNum, ToolIO's mode, resolver, user dir and streams, MP.instance (its warning
     *    history), TLCState.Empty and vars, TLCStateMut's tool, view and symmetry
     *    permutations (a run without SYMMETRY must not reduce by the last one's), TLCTrace's
     *    file, UniqueString.varCount, ModelValue's count, table and array, FP64's polynomial,
     *    RandomEnumerableValues' seed, the SANY parsers' static JavaCC state, counters such as
     *    FrontEnd.idCnt and NamedInputStream's ...): set back to its value then.
     * 3. The strings of UniqueString.internTbl: the table is put back to the strings it held
     *    then (those of class initializers: operator names, node kinds, TLC's register names),
     *    its token counter too, so that every string of a run is numbered in the order the
     *    run meets it, as in a new JVM (TLC orders strings, record fields and model values by
     *    that number: sets print and are enumerated in that order).  Each kept string's
     *    location is put back (-1): a name that was a VARIABLE or a definition of the last
     *    spec must not be one of this.  A string that a new JVM would number only after the
     *    spec's first strings (made by a class initializer that runs late, such as TLC's
     *    "level", "exit", Generator's "nullODN") is numbered before them here: a run whose
     *    spec has such a word (outside comments; a string literal's text: any such string)
     *    gets a fresh loader (fitsWords); so does a run whose cfg names any string the
     *    loader holds (a new JVM reads the cfg, its model values, first).
     * 4. The contents of static collections and arrays, final or not (SANY's operator tables,
     *    BuiltInLevel's data, TLARegistry, FP64's tables, the JavaCC lookahead arrays,
     *    BufferedRandomAccessFile's buffer pool, ToolIO's messages ...), and the value of
     *    static atomic counters (SemanticNode.uid, numbering the nodes SANY makes: a run's
     *    nodes are numbered from where the loader's initializers left it, not from where a
     *    new JVM's would be, since those ran before; TLC 2.15 uses the numbers as hash codes
     *    only, of sets whose order decides nothing it prints: SANY's level parameters,
     *    SpecProcessor's processed definitions, coverage's tables (-coverage: see 1)).
     * 5. One level down: the fields of every object of the jar held by a static field (the
     *    intern table itself, MP's recorder, LiveWorker.STATS, the constant values and nodes
     *    held by static finals, e.g. ToolGlobals.EXCEPT_AT's tool objects), with arrays and
     *    collections among them copied.
     * 6. Thread-local state (IdThread's current state, RandomEnumerableValues' generators):
     *    each run has new threads.  The platform MBeans TLC registers: unregistered after
     *    each run as for a fresh loader.
     * After each run the shared loader is checked (clean): every string held by a static
     * field is one of the table's, no class of the jar was initialized by the run.
     */
    static final class Reused {
        final URLClassLoader loader;
        int runs;
        private final List<Runnable> restores = new ArrayList<>();
        private final Set<String> lateWords = new HashSet<>();
        private final Set<String> lateStrings = new HashSet<>();
        private final Set<String> cfgWords = new HashSet<>();
        private final Set<String> cfgStrings = new HashSet<>();
        private final List<Class<?>> classes = new ArrayList<>();
        private final Set<Object> strings = Collections.newSetFromMap(new IdentityHashMap<>());
        private Class<?> uniqueString;
        private Object internTbl;
        private Field table;

        private Reused(URLClassLoader loader) {
            this.loader = loader;
        }

        /** Runs that may share a loader: tlc2.TLC without -coverage (see 1). */
        static boolean fits(String dir, String[] args) {
            for (String a : args) {
                if (a.equals("-coverage")) {
                    return false;
                }
            }
            return true;
        }

        /** TLA+'s reserved words: never a name nor a record field (a string is checked whole). */
        private static final Set<String> RESERVED = new HashSet<>(Arrays.asList(
                "ASSUME", "ASSUMPTION", "AXIOM", "CASE", "CHOOSE", "CONSTANT", "CONSTANTS", "DOMAIN",
                "ELSE", "ENABLED", "EXCEPT", "EXTENDS", "IF", "IN", "INSTANCE", "LET", "LOCAL", "MODULE",
                "OTHER", "SF_", "SUBSET", "THEN", "THEOREM", "UNCHANGED", "UNION", "VARIABLE",
                "VARIABLES", "WF_", "WITH", "LAMBDA", "BOOLEAN", "STRING", "TRUE", "FALSE"));
        /** The cfg's keywords: never a model value. */
        private static final Set<String> CFG_KEYWORDS = new HashSet<>(Arrays.asList(
                "CONSTANT", "CONSTANTS", "INIT", "NEXT", "SPECIFICATION", "INVARIANT", "INVARIANTS",
                "PROPERTY", "PROPERTIES", "SYMMETRY", "VIEW", "CONSTRAINT", "CONSTRAINTS",
                "ACTION_CONSTRAINT", "ACTION_CONSTRAINTS", "TYPE", "TYPE_CONSTRAINT", "TRUE", "FALSE"));
        private static final Pattern STRING = Pattern.compile("\"((?:[^\"\\\\\\n]|\\\\.)*)\"");

        private static final Pattern WORD = Pattern.compile("[A-Za-z0-9_]*[A-Za-z][A-Za-z0-9_]*");

        /** No word of the run's modules and cfg files is a late string (see 3). */
        boolean fitsWords(String dir, String[] args) {
            File[] files = new File(dir).listFiles((d, n) -> n.endsWith(".tla") || n.endsWith(".cfg"));
            if (files == null) {
                return false;
            }
            for (File f : files) {
                try {
                    String text = uncommented(new String(Files.readAllBytes(f.toPath()), StandardCharsets.UTF_8));
                    // A cfg's model values and strings come first in a new JVM (TLC reads the
                    // cfg before SANY starts): none may be one of the loader's strings.
                    boolean cfg = f.getName().endsWith(".cfg");
                    Matcher s = STRING.matcher(text);
                    while (s.find()) {
                        if ((cfg ? cfgStrings : lateStrings).contains(s.group(1))) {
                            return false;
                        }
                    }
                    Matcher m = WORD.matcher(text);
                    while (m.find()) {
                        if ((cfg ? cfgWords : lateWords).contains(m.group())) {
                            if (TRACE != null) {
                                TRACE.println("mmcheck-pool: " + f.getName() + " has the late string " + m.group());
                            }
                            return false;
                        }
                    }
                } catch (IOException e) {
                    return false;
                }
            }
            return true;
        }

        /** TLA+ text without its comments: \\* to the end of the line, (* ... *) nested. */
        static String uncommented(String text) {
            StringBuilder b = new StringBuilder(text.length());
            int depth = 0;
            boolean string = false;
            for (int i = 0; i < text.length(); i++) {
                char c = text.charAt(i);
                char d = i + 1 < text.length() ? text.charAt(i + 1) : 0;
                if (depth == 0 && string) {
                    b.append(c);
                    if (c == '\\') {
                        b.append(d);
                        i++;
                    } else if (c == '"' || c == '\n') {
                        string = false;
                    }
                } else if (c == '(' && d == '*') {
                    depth++;
                    i++;
                } else if (depth > 0 && c == '*' && d == ')') {
                    depth--;
                    i++;
                } else if (depth == 0 && c == '\\' && d == '*') {
                    while (i < text.length() && text.charAt(i) != '\n') {
                        i++;
                    }
                    b.append('\n');
                } else if (depth == 0) {
                    string = c == '"';
                    b.append(c);
                }
            }
            return b.toString();
        }

        /** A new shared loader, its classes initialized and its state recorded; null when
         *  that fails (this JVM runs every run in a fresh loader then). */
        static Reused start(URL jar) {
            URLClassLoader loader = new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader());
            Reused r = new Reused(loader);
            ClassLoader before = Thread.currentThread().getContextClassLoader();
            sink = OutputStream.nullOutputStream();
            Thread.currentThread().setContextClassLoader(loader);
            try {
                r.initAll(jar);
                r.record();
                unregisterBeans();  // LiveWorker's initializer registers one: a fresh
                return r;           // loader's would collide with it (and print so)
            } catch (Throwable e) {
                if (TRACE != null) {
                    TRACE.println("mmcheck-pool: no shared loader: " + e);
                    e.printStackTrace(TRACE);
                }
                return null;
            } finally {
                Thread.currentThread().setContextClassLoader(before);
                sink = out;
            }
        }

        private void initAll(URL jar) throws Exception {
            uniqueString = Class.forName("util.UniqueString", true, loader);
            internTbl = uniqueString.getField("internTbl").get(null);
            table = internTbl.getClass().getDeclaredField("table");
            table.setAccessible(true);
            // What a new JVM interns before it reads a spec: SANY's initialization.
            Class<?> specObj = Class.forName("tla2sany.modanalyzer.SpecObj", true, loader);
            Object spec = specObj.getConstructor(String.class).newInstance("MmcheckPoolWarmUp");
            Class.forName("tla2sany.drivers.SANY", true, loader)
                    .getMethod("frontEndInitialize", specObj, PrintStream.class)
                    .invoke(null, spec, new PrintStream(OutputStream.nullOutputStream()));
            Set<String> early = new HashSet<>();
            for (Object u : (Object[]) table.get(internTbl)) {
                if (u != null) {
                    early.add(u.toString());
                }
            }
            List<String> names = new ArrayList<>();
            try (JarFile jf = new JarFile(new File(jar.toURI()))) {
                for (JarEntry e : Collections.list(jf.entries())) {
                    String n = e.getName();
                    if (n.endsWith(".class") && (n.startsWith("tla2sany/") || n.startsWith("tlc2/")
                            || n.startsWith("util/") || n.startsWith("pcal/"))) {
                        names.add(n.substring(0, n.length() - 6).replace('/', '.'));
                    }
                }
            }
            for (String n : names) {
                try {
                    classes.add(Class.forName(n, true, loader));
                } catch (Throwable e) {
                    // A class that cannot be initialized here (a missing optional library):
                    // no run of ours uses it, and a run that did would fail as in a new JVM.
                }
            }
            for (Object u : (Object[]) table.get(internTbl)) {
                if (u != null) {
                    cfgStrings.add(u.toString());
                }
                if (u != null && WORD.matcher(u.toString()).matches() && !CFG_KEYWORDS.contains(u.toString())) {
                    cfgWords.add(u.toString());
                }
                if (u != null && !early.contains(u.toString())) {
                    lateStrings.add(u.toString());
                }
                if (u != null && !early.contains(u.toString()) && WORD.matcher(u.toString()).matches()
                        && !RESERVED.contains(u.toString())) {
                    lateWords.add(u.toString());
                }
            }
        }

        private void record() throws Exception {
            // 3: the intern table's strings and the location of each.
            Field loc = uniqueString.getDeclaredField("loc");
            loc.setAccessible(true);
            for (Object u : (Object[]) table.get(internTbl)) {
                if (u != null) {
                    strings.add(u);
                    int at = loc.getInt(u);
                    restores.add(() -> set(loc, u, at));
                }
            }
            Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Class<?> c : classes) {
                for (Field f : c.getDeclaredFields()) {
                    if (!Modifier.isStatic(f.getModifiers()) || !access(f)) {
                        continue;
                    }
                    Object v = f.get(null);
                    if (!Modifier.isFinal(f.getModifiers())) {
                        restores.add(() -> set(f, null, v));  // 2
                    }
                    contents(v);  // 4
                    if (v != null && v.getClass().getClassLoader() == loader && seen.add(v)) {
                        fields(v);  // 5
                    }
                }
            }
        }

        /** 4: put back the contents of a collection, an array or an atomic counter. */
        @SuppressWarnings({"unchecked", "rawtypes"})
        private void contents(Object v) {
            if (v instanceof Map) {
                Map copy = new LinkedHashMap((Map) v);
                restores.add(() -> { ((Map) v).clear(); ((Map) v).putAll(copy); });
            } else if (v instanceof Collection) {
                List copy = new ArrayList((Collection) v);
                restores.add(() -> { ((Collection) v).clear(); ((Collection) v).addAll(copy); });
            } else if (v != null && v.getClass().isArray()) {
                int n = Array.getLength(v);
                Object copy = Array.newInstance(v.getClass().getComponentType(), n);
                System.arraycopy(v, 0, copy, 0, n);
                restores.add(() -> System.arraycopy(copy, 0, v, 0, n));
            } else if (v instanceof AtomicInteger) {
                int x = ((AtomicInteger) v).get();
                restores.add(() -> ((AtomicInteger) v).set(x));
            } else if (v instanceof AtomicLong) {
                long x = ((AtomicLong) v).get();
                restores.add(() -> ((AtomicLong) v).set(x));
            } else if (v instanceof AtomicBoolean) {
                boolean x = ((AtomicBoolean) v).get();
                restores.add(() -> ((AtomicBoolean) v).set(x));
            }
        }

        /** 5: put back the fields of an object of the jar held by a static field. */
        private void fields(Object o) throws Exception {
            for (Class<?> c = o.getClass(); c != null && c.getClassLoader() == loader; c = c.getSuperclass()) {
                for (Field f : c.getDeclaredFields()) {
                    int m = f.getModifiers();
                    if (Modifier.isStatic(m) || !access(f)) {
                        continue;
                    }
                    Object v = f.get(o);
                    if (!Modifier.isFinal(m)) {
                        restores.add(() -> set(f, o, v));
                    }
                    contents(v);
                }
            }
        }

        private static boolean access(Field f) {
            try {
                f.setAccessible(true);
                return true;
            } catch (RuntimeException e) {
                return false;
            }
        }

        private static void set(Field f, Object o, Object v) {
            try {
                f.set(o, v);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        private static void set(Field f, Object o, int v) {
            try {
                f.setInt(o, v);
            } catch (IllegalAccessException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Every static state of the list put back to what it was when the loader was new. */
        void restore() {
            for (Runnable r : restores) {
                r.run();
            }
        }

        /** After a run: every string held by a static field of the jar is one of the
         *  recorded table's (else a run made one that the next would not find). */
        boolean clean() {
            try {
                for (Class<?> c : classes) {
                    for (Field f : c.getDeclaredFields()) {
                        if (!Modifier.isStatic(f.getModifiers()) || !f.canAccess(null)) {
                            continue;
                        }
                        Object v = f.get(null);
                        if (uniqueString.isInstance(v) && !strings.contains(v)) {
                            return false;
                        }
                        if (v instanceof Object[] && uniqueString.isAssignableFrom(v.getClass().getComponentType())) {
                            for (Object u : (Object[]) v) {
                                if (u != null && !strings.contains(u)) {
                                    return false;
                                }
                            }
                        }
                    }
                }
                return true;
            } catch (ReflectiveOperationException | RuntimeException e) {
                return false;
            }
        }
    }
}
