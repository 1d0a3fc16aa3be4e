package deploy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// manifests reads every document of every file kustomization.yaml lists.
func manifests(t *testing.T) []map[string]any {
	k := readYAML(t, filepath.Join("kubernetes", "kustomization.yaml"))[0]
	var docs []map[string]any
	for _, r := range strs(at(k, "resources")) {
		docs = append(docs, readYAML(t, filepath.Join("kubernetes", r))...)
	}
	return docs
}

func TestKubernetesManifests(t *testing.T) {
	docs := manifests(t)
	secretKeys := map[string]bool{}
	for _, s := range readYAML(t, filepath.Join("kubernetes", "secret.example.yaml")) {
		for k := range at(s, "stringData").(map[string]any) {
			secretKeys[str(at(s, "metadata", "name"))+"/"+k] = true
		}
	}
	kinds := map[string]bool{}
	ports := map[string]bool{} // the portal's named ports
	for _, d := range docs {
		kind := str(d["kind"])
		kinds[kind] = true
		if kind == "Deployment" || kind == "Job" {
			for _, c := range list(at(d, "spec", "template", "spec", "containers")) {
				checkContainer(t, kind, c, secretKeys, ports)
			}
		}
	}
	for _, want := range []string{"Deployment", "Job", "Service", "PodDisruptionBudget", "NetworkPolicy"} {
		if !kinds[want] {
			t.Errorf("the manifests have no %s", want)
		}
	}
	for _, d := range docs {
		switch str(d["kind"]) {
		case "Service":
			for _, p := range list(at(d, "spec", "ports")) {
				if tp := str(at(p, "targetPort")); !ports[tp] {
					t.Errorf("Service %s targets port %s, which the portal does not declare", str(at(d, "metadata", "name")), tp)
				}
			}
		case "NetworkPolicy":
			checkNetworkPolicy(t, d, ports)
		case "Deployment":
			probes(t, d)
		}
	}
}

// checkContainer checks one portal container: variables, command, ports,
// secret references, and that the portal accepts its configuration.
func checkContainer(t *testing.T, kind string, c any, secretKeys, ports map[string]bool) {
	where := kind + " " + str(at(c, "name"))
	if !strings.HasPrefix(str(at(c, "image")), "uwsportal") {
		return
	}
	checkCommand(t, where+" args", strs(at(c, "args")))
	if cmd := strs(at(c, "command")); len(cmd) > 0 && cmd[0] != binary {
		t.Errorf("%s: command %v does not run %s", where, cmd, binary)
	}
	env := map[string]string{}
	for _, e := range list(at(c, "env")) {
		name := str(at(e, "name"))
		checkVar(t, where, name)
		env[name] = str(at(e, "value"))
		if ref := at(e, "valueFrom", "secretKeyRef"); ref != nil {
			if key := str(at(ref, "name")) + "/" + str(at(ref, "key")); !secretKeys[key] {
				t.Errorf("%s: %s comes from %s, which secret.example.yaml does not have", where, name, key)
			}
			env[name] = dummy(name)
		}
	}
	if args := strs(at(c, "args")); len(args) > 0 && args[0] == "migrate" && env["UWSPORTAL_MASTER_KEY"] == "" {
		env["UWSPORTAL_MASTER_KEY"] = dummy("UWSPORTAL_MASTER_KEY") // migrate needs no key
	}
	loads(t, where, env)
	listen := []string{}
	for _, v := range []string{"UWSPORTAL_ADDR", "UWSPORTAL_METRICS_ADDR"} {
		if env[v] != "" {
			listen = append(listen, port(t, where+" "+v, env[v]))
		}
	}
	for _, p := range list(at(c, "ports")) {
		if cp := str(at(p, "containerPort")); !slices.Contains(listen, cp) {
			t.Errorf("%s: declares port %s, but the portal listens on %v", where, cp, listen)
		}
		ports[str(at(p, "name"))] = true
	}
	for _, m := range list(at(c, "volumeMounts")) {
		if str(at(m, "mountPath")) != "/tmp" {
			t.Errorf("%s: mounts %s; the portal writes only to /tmp", where, str(at(m, "mountPath")))
		}
	}
}

// probes: readiness on /readyz, liveness on /healthz, on declared ports.
func probes(t *testing.T, d map[string]any) {
	for _, c := range list(at(d, "spec", "template", "spec", "containers")) {
		names := map[string]bool{}
		for _, p := range list(at(c, "ports")) {
			names[str(at(p, "name"))] = true
		}
		for probe, want := range map[string]string{"readinessProbe": "/readyz", "livenessProbe": "/healthz"} {
			path := str(at(c, probe, "httpGet", "path"))
			checkPath(t, "Deployment "+probe, path)
			if path != want || !names[str(at(c, probe, "httpGet", "port"))] {
				t.Errorf("Deployment %s: %s on port %s, want %s on a declared port", probe, path, str(at(c, probe, "httpGet", "port")), want)
			}
		}
	}
}

// checkNetworkPolicy: only declared ports, and the metrics port only from
// a named source.
func checkNetworkPolicy(t *testing.T, d map[string]any, ports map[string]bool) {
	metricsGuarded := false
	for _, rule := range list(at(d, "spec", "ingress")) {
		for _, p := range list(at(rule, "ports")) {
			name := str(at(p, "port"))
			if !ports[name] {
				t.Errorf("NetworkPolicy names port %s, which the portal does not declare", name)
			}
			if name == "metrics" && len(list(at(rule, "from"))) > 0 {
				metricsGuarded = true
			}
		}
	}
	if !metricsGuarded {
		t.Error("NetworkPolicy does not restrict who reaches the metrics port")
	}
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	k := readYAML(t, filepath.Join("kubernetes", "kustomization.yaml"))[0]
	entries, err := os.ReadDir("kubernetes")
	if err != nil {
		t.Fatal(err)
	}
	res := strs(at(k, "resources"))
	for _, e := range entries {
		n := e.Name()
		if n != "kustomization.yaml" && n != "secret.example.yaml" && !slices.Contains(res, n) {
			t.Errorf("kustomization.yaml does not list %s", n)
		}
	}
}
