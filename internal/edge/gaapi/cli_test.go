package gaapi

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestAWSCLI drives the API with the AWS CLI, as users do, when it is installed.
func TestAWSCLI(t *testing.T) {
	aws, err := exec.LookPath("aws")
	if err != nil || testing.Short() {
		t.Skip("the AWS CLI is not installed (or -short)")
	}
	e := newEnv(t)
	home := t.TempDir()
	run := func(args ...string) map[string]any {
		t.Helper()
		cmd := exec.CommandContext(ctx(t), aws, append([]string{"globalaccelerator", "--endpoint-url", e.srv.URL, "--region", "us-west-2", "--output", "json"}, args...)...)
		cmd.Env = []string{"HOME=" + home, "PATH=" + os.Getenv("PATH"), "AWS_ACCESS_KEY_ID=" + testAccessKey, "AWS_SECRET_ACCESS_KEY=" + testSecretKey,
			"AWS_CONFIG_FILE=" + home + "/config", "AWS_SHARED_CREDENTIALS_FILE=" + home + "/credentials", "AWS_PAGER=", "AWS_MAX_ATTEMPTS=1"}
		out, err := cmd.Output()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, ee.Stderr)
			}
			t.Fatalf("aws %s: %v", strings.Join(args, " "), err)
		}
		m := map[string]any{}
		if len(strings.TrimSpace(string(out))) > 0 {
			if err := json.Unmarshal(out, &m); err != nil {
				t.Fatalf("aws %s: %v\n%s", strings.Join(args, " "), err, out)
			}
		}
		return m
	}
	acc := run("create-accelerator", "--name", "web")["Accelerator"].(map[string]any)
	accArn := acc["AcceleratorArn"].(string)
	if acc["Status"] != "DEPLOYED" || acc["Enabled"] != true {
		t.Errorf("accelerator %v", acc)
	}
	l := run("create-listener", "--accelerator-arn", accArn, "--protocol", "TCP", "--port-ranges", "FromPort=80,ToPort=80")["Listener"].(map[string]any)
	listenerArn := l["ListenerArn"].(string)
	g := run("create-endpoint-group", "--listener-arn", listenerArn, "--endpoint-group-region", "eu-west",
		"--endpoint-configurations", "EndpointId=192.0.2.1,Weight=10")["EndpointGroup"].(map[string]any)
	groupArn := g["EndpointGroupArn"].(string)
	eps := g["EndpointDescriptions"].([]any)
	if len(eps) != 1 || eps[0].(map[string]any)["HealthState"] != "INITIAL" || eps[0].(map[string]any)["Weight"] != float64(10) {
		t.Errorf("group %v", g)
	}
	if list := run("list-accelerators")["Accelerators"].([]any); len(list) != 1 {
		t.Errorf("accelerators %v", list)
	}
	run("delete-endpoint-group", "--endpoint-group-arn", groupArn)
	run("delete-listener", "--listener-arn", listenerArn)
	run("update-accelerator", "--accelerator-arn", accArn, "--no-enabled")
	run("delete-accelerator", "--accelerator-arn", accArn)
	if list := run("list-accelerators")["Accelerators"].([]any); len(list) != 0 {
		t.Errorf("accelerators %v", list)
	}
}
