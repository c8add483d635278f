package trace

import (
	"testing"

	"github.com/cilium/ebpf/btf"
)

// TestMemberOffset resolves the programs' offsets in the running kernel's
// BTF, through anonymous unions (sk_buff.dev) and nested members.
func TestMemberOffset(t *testing.T) {
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Skipf("no kernel BTF: %v", err)
	}
	k, nsErr, skbErr := loadKernelOffsets(spec)
	if nsErr != nil || skbErr != nil {
		t.Fatal(nsErr, skbErr)
	}
	t.Logf("%+v", k)
	// struct sock begins with struct sock_common __sk_common.
	common, err := memberOffset(spec, "sock_common", "skc_net")
	if err != nil {
		t.Fatal(err)
	}
	if k.skNet != common {
		t.Errorf("sock.__sk_common.skc_net.net at %d, sock_common.skc_net at %d", k.skNet, common)
	}
	// sk_buff's dev shares its first bytes with next/prev's union
	// (include/linux/skbuff.h): it is past the two list pointers.
	if k.skbDev != 16 || k.skbHead <= k.skbDev || k.skbNetHdr <= k.skbDev {
		t.Errorf("sk_buff offsets %+v", k)
	}
	if _, err := memberOffset(spec, "sk_buff", "no_such_member"); err == nil {
		t.Error("no error for a missing member")
	}
	if names := btfEnumNames(spec, "skb_drop_reason", "SKB_DROP_REASON_"); names[3] != "NO_SOCKET" {
		t.Errorf("skb_drop_reason 3 is %q", names[3])
	}
}
