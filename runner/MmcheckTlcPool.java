/*
 * A long-lived JVM that runs TLC many times (runner/jvmpool.py starts it, compiles it once
 * with the JDK's javac, and is the only user of its protocol).
 *
 * Each run gets a fresh class loader over tla2tools.jar whose parent is the platform loader,
 * so every TLC class, and with it all of TLC's static state, is new for each run: the JVM
 * start, the JDK's classes and the JVM's own warm-up are what the runs share.  A run does
 * what tlc2.TLC.main of TLC 2.15 does (handleParameters, checkEnvironment, the resolver of
 * the spec's directory, process, EC.ExitStatus.errorConstantToExitStatus) without its
 * System.exit, so only the bundled jar is run here (runner/jvmpool.py checks it).
 *
 * Protocol, on stdin and stdout (stderr is stdout):
 *   argv: JAR MARK           MARK: a random string of the caller's
 *   out:  MARK ready         once started
 *   in:   DIR \t ARG \t ...  one run: DIR its working directory (TLC's user dir), ARGs TLC's
 *   out:  TLC's output, then MARK exit CODE [retire]  on a line of its own
 * A run that leaves a thread running, or that threw, retires the JVM: it says so on its
 * MARK line and exits, so that nothing of that run can touch the next.  A run whose TLC calls
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
import java.util.Arrays;
import javax.management.MBeanServer;
import javax.management.ObjectName;

public final class MmcheckTlcPool {
    private static PrintStream out;

    public static void main(String[] argv) throws Exception {
        URL jar = new File(argv[0]).toURI().toURL();
        String mark = argv[1];
        // As the JVM makes System.out: line-flushed through a small buffer.
        out = new PrintStream(new BufferedOutputStream(new FileOutputStream(FileDescriptor.out), 128), true);
        System.setOut(out);
        System.setErr(out);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in));
        out.println(mark + " ready");
        String line;
        while ((line = in.readLine()) != null && !line.isEmpty()) {
            String[] fields = line.split("\t", -1);
            boolean retire = run(jar, fields[0], Arrays.copyOfRange(fields, 1, fields.length));
            out.println(mark + " exit " + code + (retire ? " retire" : ""));
            out.flush();
            if (retire) {
                break;
            }
        }
        System.exit(0);
    }

    private static int code;

    /** One TLC run in its own class loader and thread group; true: retire the JVM. */
    private static boolean run(URL jar, String dir, String[] args) throws Exception {
        ThreadGroup group = new ThreadGroup("mmcheck-run");
        URLClassLoader loader = new URLClassLoader(new URL[] {jar}, ClassLoader.getPlatformClassLoader());
        Throwable[] thrown = new Throwable[1];
        Thread main = new Thread(group, () -> {
            try {
                code = tlc(loader, dir, args);
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
        // TLC registers its statistics as platform MBeans: a new run registers them again.
        MBeanServer beans = ManagementFactory.getPlatformMBeanServer();
        for (ObjectName name : beans.queryNames(new ObjectName("tlc2*:*"), null)) {
            beans.unregisterMBean(name);
        }
        boolean left = false;
        Thread[] threads = new Thread[group.activeCount() + 16];
        int n = group.enumerate(threads);
        for (int i = 0; i < n; i++) {
            // The JDK's common fork-join pool outlives every run; its idle workers are not TLC's.
            if (!threads[i].getName().startsWith("ForkJoinPool.commonPool-worker")) {
                threads[i].join(2000);
                left |= threads[i].isAlive();
            }
        }
        loader.close();
        return thrown[0] != null || left;
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
}
