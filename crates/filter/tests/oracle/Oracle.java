/*
 * Generates tests/data/java_oracle.jsonl: random and mutated SQL92 expressions, each judged by
 * Apache RocketMQ's own filter module (SelectorParser + expression classes) against a few
 * random property maps. Not built by cargo; see the crate README for how to run it.
 *
 * Output, one JSON object per line:
 *   {"expr": "...", "java": "P"}                                  Java refuses to compile it
 *   {"expr": "...", "cases": [[{"a": "10"}, "T"], ...]}            T/F/N = TRUE/FALSE/null,
 *                                                                  E = evaluate threw
 */

import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.apache.rocketmq.filter.expression.BooleanExpression;
import org.apache.rocketmq.filter.expression.EvaluationContext;
import org.apache.rocketmq.filter.parser.SelectorParser;

public class Oracle {
    static final String[] PROPS = {"a", "b", "c", "TAGS", "zz"};
    static final String[] VALUES = {
        "10", "5", "3", "0", "-1", "2147483648", "3000000000", "10.5", " 10 ", "+5", "05", "1e3",
        "NaN", "-0", "abc", "x", "it's", "true", "TRUE", "false", "tagA", "\uFF11\uFF12", "0x1p3",
        "5L", "1.5f", "Infinity",
    };
    static final String[] NUMBERS = {
        "0", "5", "10", "3", "-5", "2147483647", "2147483648", "9223372036854775807", "5L",
        "010", "5.5", "5.", ".5", "1E3", "3.1E10", "0.5e-1",
    };
    static final String[] LITERALS = {
        "9223372036854775808", "0.0", "1e400", "'x'", "'10'", "'5'", "'abc'", "''", "'it''s'",
        "'true'", "'3.14'", "'tagA'", "TRUE", "FALSE", "NULL",
    };
    static final String[] COMPARE = {"=", "<>", ">", ">=", "<", "<="};
    static final String[] TEXT = {"CONTAINS", "STARTSWITH", "ENDSWITH"};
    static final String JUNK = "abcLlEe xyz 0123456789.e+-*/''()=<>,!$_ \t\n\r\f\u00e9\u00a0-/*";

    final Random rnd;

    Oracle(long seed) {
        rnd = new Random(seed);
    }

    String pick(String[] xs) {
        return xs[rnd.nextInt(xs.length)];
    }

    String kw(String k) {
        switch (rnd.nextInt(3)) {
            case 0: return k.toLowerCase();
            case 1: return k;
            default: return k.charAt(0) + k.substring(1).toLowerCase();
        }
    }

    String operand(int depth) {
        int r = rnd.nextInt(20);
        if (depth > 2 || r < 10) return pick(PROPS);
        if (r < 15) return pick(NUMBERS);
        if (r < 18) return pick(LITERALS);
        if (r == 18) return (rnd.nextBoolean() ? "-" : "+") + operand(depth + 1);
        return "(" + operand(depth + 1) + ")";
    }

    String strList() {
        StringBuilder sb = new StringBuilder("(");
        int n = 1 + rnd.nextInt(3);
        for (int i = 0; i < n; i++) {
            if (i > 0) sb.append(", ");
            sb.append(rnd.nextInt(4) == 0 ? pick(LITERALS) : "'" + pick(VALUES).replace("'", "''") + "'");
        }
        return sb.append(")").toString();
    }

    String predicate(int depth) {
        String left = operand(depth);
        String not = rnd.nextInt(3) == 0 ? kw("NOT") + " " : "";
        switch (rnd.nextInt(8)) {
            case 0: case 1: case 2:
                return left + " " + pick(COMPARE) + " " + operand(depth);
            case 3:
                return left + " " + kw("IS") + " " + (rnd.nextBoolean() ? kw("NOT") + " " : "") + kw("NULL");
            case 4:
                return left + " " + not + kw("BETWEEN") + " " + operand(depth) + " " + kw("AND") + " " + operand(depth);
            case 5:
                return left + " " + not + kw("IN") + " " + strList();
            case 6:
                return left + " " + not + kw(pick(TEXT)) + " " + (rnd.nextInt(5) == 0 ? pick(LITERALS) : "'" + pick(VALUES).replace("'", "''") + "'");
            default:
                return left;
        }
    }

    String expression(int depth) {
        int r = rnd.nextInt(10);
        if (depth > 3 || r < 4) return predicate(depth);
        if (r < 6) return expression(depth + 1) + " " + kw("AND") + " " + expression(depth + 1);
        if (r < 8) return expression(depth + 1) + " " + kw("OR") + " " + expression(depth + 1);
        if (r == 8) return kw("NOT") + " " + expression(depth + 1);
        return "(" + expression(depth + 1) + ")";
    }

    String mutate(String s) {
        StringBuilder sb = new StringBuilder(s);
        int n = 1 + rnd.nextInt(3);
        for (int i = 0; i < n && sb.length() > 0; i++) {
            int at = rnd.nextInt(sb.length());
            switch (rnd.nextInt(3)) {
                case 0: sb.deleteCharAt(at); break;
                case 1: sb.insert(at, JUNK.charAt(rnd.nextInt(JUNK.length()))); break;
                default: sb.setCharAt(at, JUNK.charAt(rnd.nextInt(JUNK.length())));
            }
        }
        return sb.toString();
    }

    Map<String, String> props() {
        Map<String, String> m = new LinkedHashMap<>();
        for (String p : PROPS) {
            if (!p.equals("zz") && rnd.nextInt(4) != 0) m.put(p, pick(VALUES));
        }
        return m;
    }

    static String json(String s) {
        StringBuilder sb = new StringBuilder("\"");
        for (char c : s.toCharArray()) {
            if (c == '"' || c == '\\') sb.append('\\').append(c);
            else if (c < 0x20) sb.append(String.format("\\u%04x", (int) c));
            else sb.append(c);
        }
        return sb.append('"').toString();
    }

    static String verdict(BooleanExpression e, final Map<String, String> p) {
        EvaluationContext ctx = new EvaluationContext() {
            public Object get(String name) { return p.get(name); }
            public Map<String, Object> keyValues() { return new HashMap<>(p); }
        };
        try {
            Object r = e.evaluate(ctx);
            return r == null ? "N" : (r == Boolean.TRUE ? "T" : (r == Boolean.FALSE ? "F" : "?"));
        } catch (Throwable t) {
            return "E";
        }
    }

    public static void main(String[] args) throws Exception {
        int count = Integer.parseInt(args[0]);
        Oracle o = new Oracle(Long.parseLong(args[1]));
        PrintStream out = new PrintStream(System.out, false, "UTF-8");
        for (int i = 0; i < count; i++) {
            String expr = o.expression(0);
            if (i % 4 == 3) expr = o.mutate(expr);
            BooleanExpression e;
            try {
                e = SelectorParser.parse(expr);
            } catch (Throwable t) {
                out.println("{\"expr\": " + json(expr) + ", \"java\": \"P\"}");
                continue;
            }
            List<String> cases = new ArrayList<>();
            for (int k = 0; k < 3; k++) {
                Map<String, String> p = o.props();
                StringBuilder m = new StringBuilder("{");
                for (Map.Entry<String, String> en : p.entrySet()) {
                    if (m.length() > 1) m.append(", ");
                    m.append(json(en.getKey())).append(": ").append(json(en.getValue()));
                }
                cases.add("[" + m.append("}") + ", \"" + verdict(e, p) + "\"]");
            }
            out.println("{\"expr\": " + json(expr) + ", \"cases\": [" + String.join(", ", cases) + "]}");
        }
        out.flush();
    }
}
